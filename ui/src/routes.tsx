// The UI's pages. A new page is one entry here (and one in NAV to show it in the header).
import { lazy, useState, type ComponentType } from 'react';
import { SearchPage } from './pages/SearchPage';

type Page = ComponentType<{ params: Record<string, string> }>;

const preloads: Array<() => void> = [];

/**
 * A page in a chunk of its own, fetched the first time it is shown or when preloadPages() runs.
 * Once fetched it renders at once: a page that suspends while another is left keeps the page
 * being left mounted (hidden) until it is ready, live tail and all.
 */
function lazyPage(load: () => Promise<Page>): Page {
  let loaded: Page | undefined;
  let loading: Promise<{ default: Page }> | undefined;
  const fetch = (): Promise<{ default: Page }> =>
    (loading ??= load().then((page) => {
      loaded = page;
      return { default: page };
    }));
  const Suspending = lazy(fetch);
  preloads.push(() => void fetch().catch(() => undefined));
  return function LazyPage(props) {
    // Chosen once per page shown: switching from one to the other would mount the page afresh.
    const [Component] = useState<Page>(() => loaded ?? Suspending);
    return <Component {...props} />;
  };
}

/** Fetches every page's chunk (once the first page is up), so that moving between pages never waits. */
export function preloadPages(): void {
  for (const p of preloads) p();
}

const TracePage = lazyPage(() => import('./pages/TracePage').then((m) => m.TracePage));
const ServiceMapPage = lazyPage(() => import('./pages/ServiceMapPage').then((m) => m.ServiceMapPage));
const HotPathsPage = lazyPage(() => import('./pages/HotPathsPage').then((m) => m.HotPathsPage));

export interface RouteDef {
  /** `/trace/:id`: parts after a colon are handed to the page as params. */
  pattern: string;
  page: Page;
}

export const ROUTES: RouteDef[] = [
  { pattern: '/', page: SearchPage },
  { pattern: '/search', page: SearchPage },
  { pattern: '/trace/:id', page: TracePage },
  { pattern: '/service-map', page: ServiceMapPage },
  { pattern: '/hot-paths', page: HotPathsPage },
];

export const NAV: Array<{ href: string; label: string; active: (path: string) => boolean }> = [
  { href: '/search', label: 'Search', active: (p) => p === '/' || p.startsWith('/search') },
  { href: '/service-map', label: 'Service map', active: (p) => p.startsWith('/service-map') },
  { href: '/hot-paths', label: 'Hot paths', active: (p) => p.startsWith('/hot-paths') },
];
