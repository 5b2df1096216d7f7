// What the JavaScript tests of `apr serve` share: the loud skip (a failure
// under CI=true), installing the pinned npm packages on first run, and
// starting a server on a free port and waiting until it is healthy.
import { execFileSync } from 'node:child_process';

export const ci = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

export function bail(why) {
  // Outside CI a missing prerequisite is a loud skip; under CI it fails.
  console.error(`*** ${ci ? 'FAILED' : 'SKIPPED'}: ${why}`);
  console.log(ci ? `not ok 1 - ${why}\n1..1` : `1..0 # SKIP ${why}`);
  process.exit(ci ? 1 : 0);
}

// Runs `npm ci` into clientsDir (from its package-lock.json); bails naming `what` when it fails.
export function npmCi(clientsDir, what) {
  try {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', clientsDir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 240000 });
  } catch (e) {
    bail(`cannot install ${what} into ${clientsDir}/node_modules (npm ci: ${e.message}); run scripts/install-deps.sh`);
  }
}

// Waits for a spawned `apr serve --port 0` to print its address, then for /health to answer 200;
// returns the base URL and a function giving what the server has logged so far.
export async function serverBase(server) {
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening line within 60 s:\n' + log)), 60000);
    server.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('exit', (code) => reject(new Error(`apr serve exited (${code}):\n${log}`)));
  }).catch((e) => bail(e.message));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; ++i) {
    const ok = await fetch(`${base}/health`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, serverLog: () => log };
}
