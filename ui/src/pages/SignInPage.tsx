// The sign-in page, shown in place of any page when the API answers 401: a token (posted once,
// then forgotten: the session lives in an HttpOnly cookie) or the OIDC provider's sign-in.
// The URL is left alone, so once signed in the user is back on the page they asked for.
import { useEffect, useState, type FormEvent } from 'react';
import { uiConfig } from '../api';
import { useLocation } from '../router';
import { signIn } from '../session';

export function SignInPage() {
  const loc = useLocation();
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [oidcIssuer, setOidcIssuer] = useState('');
  useEffect(() => void uiConfig().then((c) => setOidcIssuer(c.auth.oidcIssuer)), []);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (token.trim() === '') {
      setError('enter a token');
      return;
    }
    setBusy(true);
    const failure = await signIn(token);
    setBusy(false);
    // Signed in: this page is replaced by the one asked for. Either way the token leaves the form.
    setToken('');
    setError(failure ?? '');
  };

  const back = loc.path + (loc.query.size > 0 ? `?${loc.query.toString()}` : '');
  return (
    <div className="page signin" data-testid="sign-in">
      <h1>Sign in to Skein</h1>
      <form className="search-form" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor="signin-token">Token</label>
          <input
            id="signin-token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            autoFocus
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="sign-in-token"
          />
        </div>
        {error && (
          <div className="error-box" data-testid="sign-in-error">
            {error}
          </div>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={busy} data-testid="sign-in-button">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
        {oidcIssuer && (
          <>
            <div className="muted">or</div>
            {/* A full navigation: the provider's page, then back to Skein's callback, which sets the session. */}
            <a className="button-link" href={`/api/skein/auth/oidc/login?return_to=${encodeURIComponent(back)}`} data-testid="sign-in-oidc">
              Sign in with {oidcIssuer}
            </a>
          </>
        )}
      </form>
    </div>
  );
}
