import { GrayMeta } from '@graylane/next';

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
