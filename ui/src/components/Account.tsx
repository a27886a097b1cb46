// The header's account box when signed in: who, the tenant the UI asks for (a picker when the
// sign-in allows several, listing only those), and sign-out.
import { pickTenant, signOut, tenantsOf, type Session } from '../session';

export function Account({ session }: { session: Extract<Session, { status: 'signed-in' }> }) {
  const tenants = tenantsOf(session.who);
  return (
    <div className="account" data-testid="account">
      {tenants.length > 1 && (
        <>
          <label htmlFor="tenant-picker">Tenant</label>
          <select id="tenant-picker" title="The tenant whose traces the UI shows" value={session.tenant} onChange={(e) => pickTenant(e.target.value)} data-testid="tenant-picker">
            {tenants.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </>
      )}
      <span className="muted" title="Signed in as" data-testid="signed-in-as">
        {session.who.subject}
        {tenants.length === 1 && ` · ${tenants[0]}`}
      </span>
      <button type="button" onClick={() => void signOut()} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}
