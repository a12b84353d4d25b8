// Runs tuf-js (the npm TUF client) over many repositories in one process, for the differential
// test (tests/integration/differential_test.cc):
//   node tufjs_batch.js CASES.json
// CASES.json: [{"metadataUrl", "targetsUrl", "root" (path of the trusted root.json), "workDir",
// "target"}, ...]. For each case, in order, one line: "OK <sha256>" when tuf-js refreshed and
// downloaded the target, else "ERR <message>" (newlines removed).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Updater } = require('tuf-js');

async function runCase(c) {
  const metadataDir = path.join(c.workDir, 'metadata');
  const targetDir = path.join(c.workDir, 'targets');
  fs.mkdirSync(metadataDir, { recursive: true });
  fs.mkdirSync(targetDir, { recursive: true });
  fs.copyFileSync(c.root, path.join(metadataDir, 'root.json'));
  const updater = new Updater({ metadataBaseUrl: c.metadataUrl, targetBaseUrl: c.targetsUrl,
                                metadataDir, targetDir });
  await updater.refresh();
  const info = await updater.getTargetInfo(c.target);
  if (!info) throw new Error(`target ${c.target} not found`);
  const file = await updater.downloadTarget(info, path.join(targetDir, 'download'));
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const c of cases) {
    try {
      console.log(`OK ${await runCase(c)}`);
    } catch (e) {
      const msg = e && e.message ? e.message : String(e);
      console.log(`ERR ${msg.replace(/\s+/g, ' ')}`);
    }
  }
}

main().catch((e) => {
  console.error(`tuf-js batch: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
