import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

/** Each page names itself ("Drift"); the template adds the product, so browser tabs and history tell pages apart. */
export const metadata: Metadata = { title: { template: "%s · Vigil", default: "Vigil" } };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
