// Downloads one target with tuf-js (the npm TUF client) from a repository, trusting only the
// given root.json. Used by tests/integration/interop_test.cc.
//   node tufjs_download.js METADATA_URL TARGETS_URL ROOT.json WORKDIR TARGET_PATH
// Exit 0 and print "OK <sha256>" when tuf-js accepted the file; exit 1 with the error otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

async function main() {
  const [metadataUrl, targetsUrl, rootPath, workDir, targetPath] = process.argv.slice(2);
  const { Updater } = require('tuf-js');
  const metadataDir = path.join(workDir, 'metadata');
  const targetDir = path.join(workDir, 'targets');
  fs.mkdirSync(metadataDir, { recursive: true });
  fs.mkdirSync(targetDir, { recursive: true });
  fs.copyFileSync(rootPath, path.join(metadataDir, 'root.json'));
  const updater = new Updater({ metadataBaseUrl: metadataUrl, targetBaseUrl: targetsUrl,
                                metadataDir, targetDir });
  await updater.refresh();
  const info = await updater.getTargetInfo(targetPath);
  if (!info) throw new Error(`target ${targetPath} not found`);
  const file = await updater.downloadTarget(info, path.join(targetDir, 'download'));
  const digest = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  console.log(`OK ${digest}`);
}

main().catch((e) => {
  console.error(`tuf-js: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
