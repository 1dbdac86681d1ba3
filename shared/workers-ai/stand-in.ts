// What the offline stand-in (local-ai/) adds to Workers AI's answers (docs/workers-ai.md).
import { z } from "zod";

/**
 * Extra field the offline stand-in adds to every response so the UI can say which engine answered.
 * Real Workers AI never sets it.
 */
export const StandInMarker = z.object({ engine: z.string().min(1) });
