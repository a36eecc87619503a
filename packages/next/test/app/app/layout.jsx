import { grayMetadata } from '@graylane/next';

export async function generateMetadata() {
  return { title: 'graylane Next.js test app', other: await grayMetadata() };
}

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
