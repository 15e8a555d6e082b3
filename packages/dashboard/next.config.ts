import type { NextConfig } from "next";

/**
 * Every response says what the browser may do with it: load nothing from elsewhere, never be
 * framed (the Alerts page has buttons that change state), no MIME sniffing, no Referer with
 * query strings to other sites. Next.js inlines its bootstrap scripts and the charts set inline
 * styles, hence 'unsafe-inline' for those two; nothing else is allowed inline.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = [
  { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
];

const config: NextConfig = {
  // Everything is served from this process: no telemetry, no remote fonts or images.
  poweredByHeader: false,
  reactStrictMode: true,
  images: { unoptimized: true },
  headers: async () => [{ source: "/:path*", headers: SECURITY_HEADERS }],
};

export default config;
