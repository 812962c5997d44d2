import {stat} from 'node:fs/promises';
import path from 'node:path';
import type {Readable} from 'node:stream';

import * as tar from 'tar';

import {type OnboardingAction, type OnboardingFiles, SetupRefused} from '../../core/setup.js';
import {loadOrCreateCa} from '../../edge/tls/ca.js';
import {FCTRY_FILES, approveSelfClaim, claimNode, describeApproval, nodeDirectory, normaliseMac, readClaimIndex} from './claim.js';
import type {RainmakerSettings} from './settings.js';

/** `7C:DF:A1:B2:C3:D4`: the longest MAC form normaliseMac reads. */
const MAC_MAX_LENGTH = 17;

/** What `fogbridge rainmaker approve --mac` does, from the onboarding page. */
export function approveMacAction(section: RainmakerSettings, {dataDir}: {dataDir: string}): OnboardingAction {
    return {
        id: 'approveMac',
        fields: [{id: 'mac', secret: false, maxLength: MAC_MAX_LENGTH}],
        async run({mac}) {
            if (section.claimPort === null) throw new SetupRefused('the self-claim service is off (rainmaker.claimPort is null): give it a port, or claim the node with "fogbridge rainmaker claim"');
            try {
                normaliseMac(mac!);
            } catch (error) {
                throw new SetupRefused((error as Error).message);
            }
            return describeApproval(await approveSelfClaim(dataDir, mac!));
        },
    };
}

/** What `fogbridge rainmaker claim --mac` does, from the onboarding page: the node's factory files, ready to download. */
export function claimNodeAction(section: RainmakerSettings, {dataDir}: {dataDir: string}): OnboardingAction {
    return {
        id: 'claimNode',
        fields: [{id: 'claimMac', secret: false, maxLength: MAC_MAX_LENGTH}],
        async run({claimMac}) {
            let normalised: string;
            try {
                normalised = normaliseMac(claimMac!);
            } catch (error) {
                throw new SetupRefused((error as Error).message);
            }
            // A node claimed before keeps the host it was given (it dials what its fctry says).
            const mqttHost = (await readClaimIndex(dataDir)).claims[normalised]?.mqttHost ?? section.mqttHost;
            const node = await claimNode(dataDir, await loadOrCreateCa(dataDir), {mac: normalised, mqttHost});
            return `node ${node.nodeId} (MAC ${node.mac}) claimed for ${node.mqttHost}: its factory files are ready to download`;
        },
    };
}

/** The fctry partition's files and our CA, as `claim` writes them into a node's directory. */
const FACTORY_FILES = [FCTRY_FILES.nodeId, FCTRY_FILES.mqttHost, FCTRY_FILES.cert, FCTRY_FILES.key, FCTRY_FILES.random, FCTRY_FILES.csv, FCTRY_FILES.ca];

/**
 * Each host-claimed node's factory files as one archive (`<node id>/…`). The node's private key is
 * in it: it leaves the data directory only when the user downloads it, its mode (0600) kept.
 */
export function factoryFilesDownload({dataDir}: {dataDir: string}): OnboardingFiles {
    const claimedOnHost = async (): Promise<string[]> => {
        const index = await readClaimIndex(dataDir);
        const nodeIds = Object.values(index.claims)
            .filter((claim) => claim.method === 'host')
            .map((claim) => claim.nodeId);
        const withKey = await Promise.all(nodeIds.map(async (nodeId) => ((await exists(path.join(nodeDirectory(dataDir, nodeId), FCTRY_FILES.key))) ? nodeId : null)));
        return withKey.filter((nodeId): nodeId is string => nodeId !== null).sort();
    };
    return {
        id: 'factoryFiles',
        list: claimedOnHost,
        async open(nodeId) {
            // Only a listed node: the id never reaches the file system unchecked.
            if (!(await claimedOnHost()).includes(nodeId)) return null;
            const directory = nodeDirectory(dataDir, nodeId);
            const present = await Promise.all(FACTORY_FILES.map(async (file) => ((await exists(path.join(directory, file))) ? `${nodeId}/${file}` : null)));
            const body = tar.create({gzip: true, cwd: path.dirname(directory), portable: true}, present.filter((entry): entry is string => entry !== null)) as unknown as Readable;
            return {filename: `rainmaker-${nodeId}-factory.tar.gz`, contentType: 'application/gzip', body};
        },
    };
}

async function exists(file: string): Promise<boolean> {
    return stat(file).then(
        () => true,
        () => false,
    );
}
