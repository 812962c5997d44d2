/** The computed frames of shared/protocols/icomen.md §5.2, read from shared/vectors/icomen.json. */
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

export interface IcomenVector {
    id: string;
    description: string;
    key: string;
    mac: string;
    type: string;
    header: string;
    plaintext: string;
    ciphertext: string;
    frame: string;
}

const file = fileURLToPath(new URL('../../../shared/vectors/icomen.json', import.meta.url));

export const vectors: IcomenVector[] = (JSON.parse(readFileSync(file, 'utf8')) as {vectors: IcomenVector[]}).vectors;

export function vector(id: string): IcomenVector {
    const found = vectors.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no vector ${id}`);
    return found;
}

export function frameBytes(id: string): Buffer {
    return Buffer.from(vector(id).frame, 'hex');
}
