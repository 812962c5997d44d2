import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {freePort} from './net.js';

export interface MosquittoInstance {
    port: number;
    url: string;
    stop(): Promise<void>;
}

const binary = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

/**
 * A real Mosquitto (Debian's, installed by .ci/run) on a free loopback port, with
 * `set_tcp_nodelay` as we tell users to configure theirs.
 */
export async function startMosquitto(options: {port?: number} = {}): Promise<MosquittoInstance> {
    // Another process may take the port between freePort() and mosquitto's bind: then try another.
    for (let attempt = 1; ; attempt++) {
        try {
            return await startOnce(options.port ?? (await freePort()));
        } catch (error) {
            if (options.port !== undefined || attempt >= 5) throw error;
        }
    }
}

async function startOnce(port: number): Promise<MosquittoInstance> {
    const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-mosquitto-'));
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'persistence false', ''].join('\n'));
    const child: ChildProcess = spawn(binary, ['-c', conf], {stdio: ['ignore', 'ignore', 'pipe']});
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 5000;
    const failed = (): Error => {
        child.kill('SIGKILL');
        return new Error(`mosquitto did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    };
    while (!(await canConnect(port))) {
        if (child.exitCode !== null || Date.now() > deadline) throw failed();
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Something answered; make sure it is our mosquitto and not a process that had the port first.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (child.exitCode !== null) throw failed();
    return {
        port,
        url: `mqtt://127.0.0.1:${port}`,
        async stop() {
            if (child.exitCode === null) child.kill('SIGTERM');
            await exited;
            rmSync(dir, {recursive: true, force: true});
        },
    };
}

function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
            socket.destroy();
            resolve(true);
        });
        socket.once('error', () => resolve(false));
    });
}
