// Light/dark theme, remembered in localStorage (ui/public/theme-init.js applies it before first paint).
import { useEffect, useState } from 'react';

export type Theme = 'light' | 'dark';
const KEY = 'skein.theme';

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => (document.documentElement.dataset['theme'] === 'dark' ? 'dark' : 'light'));
  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }, [theme]);
  return [theme, () => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))];
}

/** Local time or UTC for every time the UI shows, remembered like the theme. */
export type TimeZoneMode = 'local' | 'utc';
const TZ_KEY = 'skein.tz';
const listeners = new Set<(tz: TimeZoneMode) => void>();
let tzMode: TimeZoneMode = (() => {
  try {
    return localStorage.getItem(TZ_KEY) === 'utc' ? 'utc' : 'local';
  } catch {
    return 'local';
  }
})();

export function useTimeZone(): [TimeZoneMode, (tz: TimeZoneMode) => void] {
  const [tz, setTz] = useState(tzMode);
  useEffect(() => {
    listeners.add(setTz);
    return () => void listeners.delete(setTz);
  }, []);
  return [
    tz,
    (next) => {
      tzMode = next;
      try {
        localStorage.setItem(TZ_KEY, next);
      } catch {
        // not remembered
      }
      for (const l of listeners) l(next);
    },
  ];
}
