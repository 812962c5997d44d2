import {X509Certificate} from 'node:crypto';
import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest';
import {setLogSink} from '../../src/util/logger.js';
import yargs from 'yargs';

import {readClaimIndex} from '../../src/families/rainmaker/claim.js';
import {certsCommand, rainmakerApproveCommand, rainmakerClaimCommand} from '../../src/families/rainmaker/claim-cli.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {familyCli} from '../../src/settings.js';
import {loadOrCreateCa} from '../../src/edge/tls/ca.js';

// Quiet: these tests assert on results, not on log lines.
beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink(null));

let dataDir: string;

beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-claim-cli-'));
});

afterEach(async () => {
    vi.restoreAllMocks();
    await fs.rm(dataDir, {recursive: true, force: true});
});

/** Runs the commands the way src/cli.ts will mount them and returns what went to stdout. */
const cli = familyCli(rainmakerFamily);

async function run(args: string[]): Promise<string> {
    let output = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output += chunk.toString();
        return true;
    });
    try {
        await yargs()
            .command({command: 'rainmaker', describe: 'RainMaker', builder: (inner) => inner.command(rainmakerClaimCommand(cli)).command(rainmakerApproveCommand(cli)), handler: () => undefined})
            .command(certsCommand(cli))
            .exitProcess(false)
            .fail((message, error) => {
                throw error ?? new Error(message);
            })
            .strict()
            .parseAsync(args);
    } finally {
        vi.mocked(process.stdout.write).mockRestore();
    }
    return output;
}

describe('fogbridge certs export', () => {
    it('prints exactly the CA certificate PEM', async () => {
        const output = await run(['certs', 'export', '--data-dir', dataDir]);
        const ca = await loadOrCreateCa(dataDir);
        expect(output).toBe(ca.certPem);
        const cert = new X509Certificate(output);
        expect(cert.ca).toBe(true);
        expect(output).not.toContain('PRIVATE KEY');
    });
});

describe('fogbridge rainmaker claim', () => {
    it('claims a node and prints the node id and where the files are, never the key', async () => {
        const output = await run(['rainmaker', 'claim', '--mac', '7c:df:a1:b2:c3:d4', '--mqtt-host', 'rm.example.net', '--data-dir', dataDir]);
        const dir = path.join(dataDir, 'rainmaker', 'nodes', '7CDFA1B2C3D4');
        expect(output).toContain('node id:   7CDFA1B2C3D4');
        expect(output).toContain(dir);
        expect(output).toContain(path.join(dir, 'node_info.csv'));
        expect(output).not.toContain('PRIVATE KEY');
        const key = await fs.readFile(path.join(dir, 'node.key'), 'utf8');
        expect(output).not.toContain(key.split('\n')[1]);
        expect((await readClaimIndex(dataDir)).claims['7CDFA1B2C3D4']?.mqttHost).toBe('rm.example.net');
    });

    it('reuses the previous mqtt host for a re-claim', async () => {
        await run(['rainmaker', 'claim', '--mac', '7CDFA1B2C3D4', '--mqtt-host', 'rm.example.net', '--data-dir', dataDir]);
        const output = await run(['rainmaker', 'claim', '--mac', '7CDFA1B2C3D4', '--data-dir', dataDir]);
        expect(output).toContain('mqtt_host: rm.example.net');
    });

    it('takes data dir and mqtt host from the settings environment when not given', async () => {
        vi.stubEnv('FOGBRIDGE_DATA_DIR', dataDir);
        vi.stubEnv('FOGBRIDGE_RAINMAKER_MQTT_HOST', 'rm.lan');
        try {
            const output = await run(['rainmaker', 'claim', '--mac', 'AABBCCDDEEFF']);
            expect(output).toContain('mqtt_host: rm.lan');
            expect(output).toContain(path.join(dataDir, 'rainmaker', 'nodes', 'AABBCCDDEEFF'));
        } finally {
            vi.unstubAllEnvs();
        }
    });

    it('explains a bad MAC', async () => {
        await expect(run(['rainmaker', 'claim', '--mac', '7CDFA1B2C3', '--data-dir', dataDir])).rejects.toThrow(/"7CDFA1B2C3" is not a MAC address: expected 12 hex digits/);
        expect(await fs.readdir(dataDir)).toEqual([]);
    });

    it('explains an mqtt host with a port', async () => {
        await expect(run(['rainmaker', 'claim', '--mac', '7CDFA1B2C3D4', '--mqtt-host', 'rm.local:8883', '--data-dir', dataDir])).rejects.toThrow(/must not carry a port/);
    });
});

describe('fogbridge rainmaker approve', () => {
    it('records the MAC as approved for self-claim', async () => {
        const output = await run(['rainmaker', 'approve', '--mac', '7C-DF-A1-B2-C3-D4', '--data-dir', dataDir]);
        expect(output).toContain('MAC 7CDFA1B2C3D4 may now claim itself');
        expect(Object.keys((await readClaimIndex(dataDir)).approved)).toEqual(['7CDFA1B2C3D4']);
    });
});
