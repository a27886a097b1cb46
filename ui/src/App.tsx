import { Suspense, useEffect, useState, type FormEvent } from 'react';
import { Link, match, navigate, useLocation } from './router';
import { NAV, preloadPages, ROUTES } from './routes';
import { useTheme, useTimeZone } from './theme';
import { uiConfig } from './api';
import { useSession } from './session';
import { SignInPage } from './pages/SignInPage';
import { Account } from './components/Account';

export function App() {
  const loc = useLocation();
  const [theme, toggleTheme] = useTheme();
  const [tz, setTz] = useTimeZone();
  const [version, setVersion] = useState('');
  const session = useSession();
  useEffect(() => void uiConfig().then((c) => setVersion(c.version)), []);
  const pagesShown = session.status === 'open' || session.status === 'signed-in';
  useEffect(() => {
    if (pagesShown) preloadPages();
  }, [pagesShown]);

  let body = <NotFound path={loc.path} />;
  for (const r of ROUTES) {
    const params = match(r.pattern, loc.path);
    if (params) {
      const Page = r.page;
      body = <Page params={params} />;
      break;
    }
  }
  if (session.status === 'loading') body = <div className="loading">Loading…</div>;
  else if (session.status === 'signed-out') body = <SignInPage />;

  return (
    <div className="app">
      <header className="topbar">
        <Link href="/" className="brand" title={version ? `Skein ${version}` : 'Skein'}>
          <span className="logo" aria-hidden="true" />
          Skein
        </Link>
        {pagesShown && (
          <>
            <nav>
              {NAV.map((n) => (
                <Link key={n.href} href={n.href} className={n.active(loc.path) ? 'active' : ''}>
                  {n.label}
                </Link>
              ))}
            </nav>
            <TraceIdBox />
          </>
        )}
        <div className="spacer" />
        {session.status === 'signed-in' && <Account session={session} />}
        <div className="seg" role="group" aria-label="Time zone">
          <button type="button" className={tz === 'local' ? 'on' : ''} onClick={() => setTz('local')} title="Show times in this browser's time zone">
            Local
          </button>
          <button type="button" className={tz === 'utc' ? 'on' : ''} onClick={() => setTz('utc')} title="Show times in UTC">
            UTC
          </button>
        </div>
        <button type="button" className="icon-btn" onClick={toggleTheme} data-testid="theme-toggle" title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      {/* Keyed by tenant: picking another shows every page afresh, with nothing of the last tenant's left on screen. */}
      <main key={session.status === 'signed-in' ? `tenant:${session.tenant ?? '*'}` : session.status}>
        <Suspense fallback={<div className="loading">Loading…</div>}>{body}</Suspense>
      </main>
    </div>
  );
}

function TraceIdBox() {
  const [id, setId] = useState('');
  const [error, setError] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const clean = id.trim().toLowerCase();
    if (!/^[0-9a-f]{1,32}$/.test(clean)) {
      setError('a trace ID is 1 to 32 hex digits');
      return;
    }
    setError('');
    setId('');
    navigate(`/trace/${clean}`);
  };
  return (
    <form className="traceid-box" onSubmit={submit}>
      <input
        aria-label="Trace ID"
        placeholder="Go to trace ID…"
        value={id}
        onChange={(e) => setId(e.target.value)}
        className={error ? 'invalid' : ''}
        title={error || 'Open a trace by its ID'}
        data-testid="trace-id-input"
      />
    </form>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link href="/search">Search traces</Link>.
      </p>
    </div>
  );
}
