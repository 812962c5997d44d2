import {spawn} from 'node:child_process';

export interface CliOutcome {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the CLI from source to its end; one still running after `timeoutMs` is killed (the test then fails on its code). */
export function runCli(args: string[], timeoutMs = 8000): Promise<CliOutcome> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {stdio: ['ignore', 'pipe', 'pipe']});
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({code, stdout, stderr});
        });
    });
}
