/**
 * Login tokens without a token table: each one carries its expiry and an HMAC over (kind, user,
 * expiry) with the family's key, so a flood of logins costs no memory and tokens outlive a restart
 * when the key does. Any account may log in (ecovacs.md §1.6); what is checked is that a later
 * call carries a token this bridge issued for that user and that it has not run out.
 */
import {createHash, createHmac, timingSafeEqual} from 'node:crypto';

/** `access`: the v1 login's accessToken; `auth`: getAuthCode's authCode; `session`: user.do's token for every later call. */
export type TokenKind = 'access' | 'auth' | 'session';

/** The auth code lives only between two calls of one login. */
const AUTH_CODE_LIFETIME_MS = 10 * 60_000;

export class SessionTokens {
    constructor(
        private readonly key: Buffer,
        /** Lifetime of access and session tokens. */
        readonly lifetimeMs: number,
        private readonly now: () => number = Date.now,
    ) {
        if (key.length < 16) throw new Error('the token key must have at least 16 bytes');
    }

    /** A stable user id per account name, as Bumper derives it (sha256 of the account). */
    userIdFor(account: string): string {
        return `fuid_${createHash('sha256').update(account).digest('hex').slice(0, 20)}`;
    }

    issue(kind: TokenKind, userId: string): string {
        const lifetime = kind === 'auth' ? AUTH_CODE_LIFETIME_MS : this.lifetimeMs;
        const expiry = (this.now() + lifetime).toString(36);
        return `${expiry}.${this.mac(kind, userId, expiry)}`;
    }

    verify(kind: TokenKind, userId: string, token: string): boolean {
        const dot = token.indexOf('.');
        if (dot <= 0 || token.length > 128) return false;
        const expiry = token.slice(0, dot);
        const expected = Buffer.from(this.mac(kind, userId, expiry));
        const given = Buffer.from(token.slice(dot + 1));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
        return Number.parseInt(expiry, 36) > this.now();
    }

    private mac(kind: TokenKind, userId: string, expiry: string): string {
        return createHmac('sha256', this.key).update(`${kind}\u0000${userId}\u0000${expiry}`).digest('base64url').slice(0, 32);
    }
}
