// Saving a file the page downloaded (an export) under its name.

/** Save a downloaded file through a temporary blob URL. */
export function saveFile(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Some browsers read the blob after the click returns: the URL is kept a while, then freed.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
