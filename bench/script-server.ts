import { spawn } from 'node:child_process';
import path from 'node:path';

/** A small server of the bench's own, in a node process of its own (so its CPU and RSS are its own). */
export interface ScriptServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  pid: number;
  close(): Promise<void>;
}

/**
 * Runs `script` (`node -e`) with `args`, from the project folder (so it resolves the project's
 * packages); the script prints the port it listens on as its first output.
 */
export async function startScriptServer(name: string, script: string, args: readonly string[]): Promise<ScriptServer> {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    cwd: path.resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
