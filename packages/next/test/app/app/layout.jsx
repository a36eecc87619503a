import { GrayMeta } from '@graylane/next';

export const metadata = { title: 'graylane Next.js test app' };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <head>
        <GrayMeta />
      </head>
      <body>{children}</body>
    </html>
  );
}
