import type { NextConfig } from "next";

const config: NextConfig = {
  // Everything is served from this process: no telemetry, no remote fonts or images.
  poweredByHeader: false,
  reactStrictMode: true,
  images: { unoptimized: true },
};

export default config;
