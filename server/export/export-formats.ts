// The export formats and how each is served: its content type and download name. No imports, so
// the Worker checks `?format=` without loading the renderers (server/export/transcript-export.ts).

export const EXPORT_FORMATS = ["json", "md", "vtt", "srt"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The version of the JSON export's shape: bumped when a field changes meaning or goes away. */
export const JSON_EXPORT_FORMAT = "parley-transcript/1";

/**
 * text/vtt is registered for WebVTT and text/markdown by RFC 7763. SRT has no registered type: the
 * unregistered application/x-subrip (shared-mime-info) would leave its charset undefined and mark it
 * as binary to HTTP clients, so it is served as what it is, UTF-8 plain text (as Debian's mime.types
 * maps .srt); the .srt file name says the rest. JSON is UTF-8 by definition (RFC 8259).
 */
export const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: "application/json",
  md: "text/markdown; charset=utf-8",
  vtt: "text/vtt; charset=utf-8",
  srt: "text/plain; charset=utf-8",
};

export function isExportFormat(value: string | null): value is ExportFormat {
  return (EXPORT_FORMATS as readonly (string | null)[]).includes(value);
}

export interface RenderedExport {
  body: string;
  contentType: string;
  fileName: string;
}

/** `parley-<first 8 of the id>-<UTC date the session started, or of the export>.<ext>`. */
export function exportFileName(sessionId: string, startedAt: number | null, format: ExportFormat, now: number): string {
  const day = new Date(startedAt ?? now).toISOString().slice(0, 10);
  return `parley-${sessionId.slice(0, 8)}-${day}.${format}`;
}

/** The download: attachment with the file name (ASCII by construction, so no RFC 5987 form is needed). */
export function exportResponse(e: RenderedExport): Response {
  return new Response(e.body, {
    headers: {
      "Content-Type": e.contentType,
      "Content-Disposition": `attachment; filename="${e.fileName}"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
