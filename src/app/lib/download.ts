// Saves the exported model as a Hugging Face folder: into a folder the user picks where the browser allows
// it (File System Access API), otherwise as one download per file.
import type { ExportedFile } from '../../worker/protocol.ts';

type DirectoryPicker = (options?: { id?: string; mode?: 'readwrite' }) => Promise<FileSystemDirectoryHandle>;

export async function saveModelFolder(files: ExportedFile[], name: string): Promise<'folder' | 'downloads'> {
  const picker = (globalThis as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  if (picker) {
    let dir: FileSystemDirectoryHandle | null = null;
    try {
      dir = await picker({ id: 'tabswarm-model', mode: 'readwrite' });
    } catch {
      dir = null; // the user closed the picker: fall back to plain downloads
    }
    if (dir) {
      for (const file of files) {
        // "adapter/adapter_model.safetensors": the LoRA adapter's PEFT folder inside the model's
        const parts = file.name.split('/');
        let at = dir;
        for (const sub of parts.slice(0, -1)) at = await at.getDirectoryHandle(sub, { create: true });
        const writable = await (await at.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
        await writable.write(file.data);
        await writable.close();
      }
      return 'folder';
    }
  }
  const safe = name.replace(/[^\w.-]+/g, '_');
  for (const file of files) {
    const url = URL.createObjectURL(new Blob([file.data]));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${safe}-${file.name.replace(/\//g, '-')}`;
    a.click();
    // revoke later: Chromium starts the download asynchronously from the URL
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return 'downloads';
}
