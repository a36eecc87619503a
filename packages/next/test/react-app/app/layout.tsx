import type { ReactNode } from 'react';
import { GrayMeta, tryGetGrayVersion } from '@graylane/next';
import { GrayProvider } from '@graylane/react';

const options = { versions: ['stable', 'beta'], default: 'stable' };

export const metadata = { title: 'graylane + React' };

// A server component: GrayProvider comes straight from @graylane/react, no wrapper of your own.
export default async function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <GrayMeta />
      </head>
      <body>
        <GrayProvider options={options} serverVersion={await tryGetGrayVersion()}>
          {children}
        </GrayProvider>
      </body>
    </html>
  );
}
