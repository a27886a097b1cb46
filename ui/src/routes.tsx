// The UI's pages. A new page is one entry here (and one in NAV to show it in the header).
import { lazy, type ComponentType } from 'react';
import { SearchPage } from './pages/SearchPage';

const TracePage = lazy(() => import('./pages/TracePage').then((m) => ({ default: m.TracePage })));
const ServiceMapPage = lazy(() => import('./pages/ServiceMapPage').then((m) => ({ default: m.ServiceMapPage })));
const HotPathsPage = lazy(() => import('./pages/HotPathsPage').then((m) => ({ default: m.HotPathsPage })));

export interface RouteDef {
  /** `/trace/:id`: parts after a colon are handed to the page as params. */
  pattern: string;
  page: ComponentType<{ params: Record<string, string> }>;
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
