import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

/** The title of a page that names none; every page exports its own, "<page> · Vigil", so tabs and history tell pages apart. */
export const metadata: Metadata = { title: "Vigil" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
