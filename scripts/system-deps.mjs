// The system packages the GPU, browser and e2e tiers need. On Debian as root they are installed here;
// elsewhere the exact command to run is printed and the run stops.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasVulkanLoader() {
  try {
    return execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(existsSync);
  }
}

export function missingSystemDeps() {
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push({ pkg: 'chromium', why: `${CHROMIUM} (headless browser for the browser and e2e tiers)` });
  else if (!existsSync(SWIFTSHADER_ICD)) missing.push({ pkg: 'chromium', why: `${SWIFTSHADER_ICD} (SwiftShader Vulkan driver)` });
  if (!hasVulkanLoader()) missing.push({ pkg: 'libvulkan1', why: 'libvulkan.so.1 (Vulkan loader for Dawn in Node)' });
  return missing;
}

export function ensureSystemDeps() {
  let missing = missingSystemDeps();
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  for (const m of missing) console.error(`missing system dependency: ${m.pkg} — ${m.why}`);
  const command = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.error(`installing: ${command}`);
    const r = spawnSync('sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    missing = missingSystemDeps();
    if (r.status === 0 && missing.length === 0) return;
  }
  console.error(`\nThe GPU, browser and e2e tiers need system packages. Run:\n\n  sudo ${command}\n`);
  process.exit(1);
}
