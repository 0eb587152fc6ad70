#!/usr/bin/env node
// Runs the Dockerfile's build on this machine, without Docker: reads the
// Dockerfile, copies what each stage's COPY lines copy into a directory
// per stage, runs its RUN steps (scripts/docker/build.sh, runtime.sh; apt is
// skipped with SONDE_SKIP_APT=1 when the packages are already here), and
// prints the runtime stage's directory: the image's /opt/sonde.
//   node scripts/docker/check.mjs [WORKDIR]   -> stdout: the runtime directory
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const context = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'sonde-docker-'));
const say = (m) => process.stderr.write(`[docker-check] ${m}\n`);

/** The Dockerfile's stages: name, WORKDIR, COPY and RUN instructions in order. */
function stages(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const upper = op.toUpperCase();
    if (upper === 'FROM') out.push({ name: rest[2] ?? String(out.length), workdir: '/', steps: [] });
    else if (upper === 'WORKDIR') out.at(-1).workdir = rest[0];
    else if (upper === 'COPY' || upper === 'RUN') out.at(-1).steps.push({ op: upper, args: rest, line, workdir: out.at(-1).workdir });
  }
  return out;
}

/** A path inside a stage's image, under that stage's directory here. */
const inStage = (root, workdir, p) => join(root, p.startsWith('/') ? p : join(workdir, p));

const all = stages(readFileSync(join(context, 'Dockerfile'), 'utf8'));
const roots = new Map();
for (const stage of all) {
  const root = join(work, stage.name);
  mkdirSync(root, { recursive: true });
  roots.set(stage.name, root);
  say(`stage ${stage.name} in ${root}`);
  for (const step of stage.steps) {
    if (step.op === 'COPY') {
      const from = step.args.find((a) => a.startsWith('--from='))?.slice('--from='.length);
      const paths = step.args.filter((a) => !a.startsWith('--'));
      const dest = paths.pop();
      for (const src of paths) {
        const source = from ? inStage(roots.get(from), '/', src) : join(context, src);
        const target = inStage(root, step.workdir, dest.endsWith('/') && !src.endsWith('/') ? join(dest, src.split('/').at(-1)) : dest);
        cpSync(source, target, { recursive: true });
      }
    } else {
      // RUN: the scripts the Dockerfile runs, with their paths inside this stage's directory.
      const command = step.args.join(' ').replace(/\/tmp\//g, `${inStage(root, '/', 'tmp')}/`);
      const cwd = inStage(root, step.workdir, '.');
      mkdirSync(cwd, { recursive: true });
      say(`RUN ${step.args.join(' ')}`);
      execFileSync('bash', ['-c', command], { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SONDE_SKIP_APT: process.env.SONDE_SKIP_APT ?? '1' } });
    }
  }
}
const last = all.at(-1);
process.stdout.write(`${inStage(roots.get(last.name), last.workdir, '.')}\n`);
