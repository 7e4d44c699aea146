// HTML text of the pages this project writes (status page, client drill reports).

/** `s` safe as HTML text and as a double- or single-quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
