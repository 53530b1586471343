#!/usr/bin/python3
"""A Puzzel-shaped OAuth 2.0 token endpoint for pkjwt's tests and demo.

It judges private_key_jwt client assertions (RFC 7523) with python3-jwcrypto,
an implementation independent of pkjwt's signing code, against public keys
registered the way Puzzel's Organisation Settings takes them (a one-line
base64 DER X.509 certificate or a JWK), and enforces what Puzzel ID (Duende
IdentityServer) does. It listens on 127.0.0.1 only. See README.md next to
this file for the command line, the endpoints and the test control API.

Standard library plus python3-jwcrypto and python3-cryptography only.
"""

import argparse
import base64
import binascii
import datetime
import gzip
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk, jws

PROG = "puzzel_endpoint"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STRICT_TYP = "client-authentication+jwt"
ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512"]
SKEW = 300
FORM_FIELDS = ("grant_type", "client_id", "scope", "client_assertion_type",
               "client_assertion")
TOKEN_PATH = "/id/connect/token"
ISSUER_PATH = "/id"
CHECK_PATH = "/contactcentre5/accesstokeninformation"
DISCOVERY_PATH = "/id/.well-known/openid-configuration"
MODES = ["503", "429", "slow", "garbage", "oversize", "drop", "error200",
         "invalid_client",
         # answers as other real servers send them (issue 9): a token in
         # another shape, or an error with other words
         "no_expires_in", "jwt_no_expires_in", "huge_expires_in",
         "string_expires_in", "bom", "gzip", "gzip_unlabelled",
         "unknown_encoding", "entra_error", "bare_error", "keycloak_sig"]
# Provider shapes (issue 9, --provider): where each provider puts its
# issuer and token endpoints under the base URL, and what it asks beyond
# the rules above. "v1" token paths are Entra's v1 endpoint: it needs the
# resource field and answers expires_in as a string. Only "generic" has no
# OpenID Connect discovery document: it has RFC 8414's alone.
PROVIDERS = {
    "puzzel": {"issuer": ISSUER_PATH, "token": [TOKEN_PATH],
               "check": CHECK_PATH},
    "keycloak": {"issuer": "/realms/test",
                 "token": ["/realms/test/protocol/openid-connect/token"],
                 "answer": {"refresh_expires_in": 0,
                            "not-before-policy": 0}},
    "entra": {"issuer": "/tenant-id/v2.0",
              "token": ["/tenant-id/oauth2/v2.0/token"],
              "v1": ["/tenant-id/oauth2/token"], "x5t": True,
              "scope_suffix": "/.default",
              "answer": {"ext_expires_in": 0}},
    "auth0": {"issuer": "/", "token": ["/oauth/token"],
              "algs": ["RS256", "PS256"], "field": "audience"},
    "okta": {"issuer": "/oauth2/default",
             "token": ["/oauth2/default/v1/token"]},
    "generic": {"issuer": "/op", "token": ["/op/token"], "rfc8414": True,
                "no_expires_in": True},
}
MAX_BODY = 64 * 1024          # a token request is far smaller than this
OVERSIZE = 2 * 1024 * 1024    # size of the "oversize" misbehaviour's body
CONN_TIMEOUT = 30             # seconds a connection may sit idle


def stat_value(stats, path):
    """One value of the stats for GET /_test/stats?get=PATH: PATH is keys
    and list indexes joined by dots (token_requests, audiences.-1,
    extra_fields.-1.resource). A string as it is, anything else as JSON
    (null, true, 3, a list); None when the path names nothing."""
    v = stats
    try:
        for k in path.split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return v if isinstance(v, str) else json.dumps(v)


class StartupError(Exception):
    """A problem with the command line or a key file: one line, exit 2."""


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error answer."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


# ---- keys -------------------------------------------------------------------

def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _check_cert(cert, where):
    """Refuse a certificate outside its validity, as Puzzel refuses uploads."""
    now = _utcnow()
    if now < cert.not_valid_before:
        raise StartupError("%s: certificate not valid before %s UTC"
                           % (where, cert.not_valid_before.isoformat()))
    if now > cert.not_valid_after:
        raise StartupError("%s: certificate expired %s UTC"
                           % (where, cert.not_valid_after.isoformat()))


def _from_pyca(pub, where):
    if isinstance(pub, rsa.RSAPublicKey):
        return jwk.JWK.from_pyca(pub)
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise StartupError("%s: EC curve %s is not P-256, P-384 or P-521"
                               % (where, pub.curve.name))
        return jwk.JWK.from_pyca(pub)
    raise StartupError("%s: only RSA and EC keys can be registered" % where)


def _with_x5t(key, cert):
    """Mark a key from a certificate with the certificate's thumbprints (x5t
    and x5t#S256), by which Entra ID finds it."""
    der = cert.public_bytes(serialization.Encoding.DER)
    key.x5ts = {"x5t": b64url(hashlib.sha1(der).digest()),
                "x5t#S256": b64url(hashlib.sha256(der).digest())}
    return key


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _key_from_jwk(obj, where):
    if not isinstance(obj, dict):
        raise StartupError("%s: a JWK must be a JSON object" % where)
    kty = obj.get("kty")
    if kty not in ("RSA", "EC"):
        raise StartupError("%s: JWK kty %r is not RSA or EC" % (where, kty))
    if kty == "EC" and obj.get("crv") not in ("P-256", "P-384", "P-521"):
        raise StartupError("%s: JWK crv %r is not P-256, P-384 or P-521"
                           % (where, obj.get("crv")))
    x5c = obj.get("x5c")
    if x5c:
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(x5c[0]))
        except (ValueError, TypeError, binascii.Error) as e:
            raise StartupError("%s: JWK x5c[0] is not a certificate (%s)"
                               % (where, e)) from None
        _check_cert(cert, where)
    try:
        key = jwk.JWK(**obj)
        # A private JWK is accepted for convenience; only its public half
        # is kept.
        pub = jwk.JWK(**json.loads(key.export_public()))
    except Exception as e:  # jwcrypto raises several unrelated types
        raise StartupError("%s: not a usable JWK (%s)" % (where, e)) from None
    return pub, obj.get("kid")


def load_keys(text, where):
    """Return [(jwcrypto JWK, kid or None, form)] from a key file's text.

    Forms, detected in this order: JWKS or JWK (JSON object), PEM
    certificate(s), PEM public key, one-line base64 DER certificate (what
    Puzzel's Organisation Settings takes), base64 DER SubjectPublicKeyInfo.
    """
    text = text.strip()
    if not text:
        raise StartupError("%s: empty key file" % where)
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise StartupError("%s: not JSON (%s)" % (where, e)) from None
        if isinstance(obj, dict) and "keys" in obj:
            keys = obj["keys"]
            if not isinstance(keys, list) or not keys:
                raise StartupError("%s: JWKS has no keys" % where)
            out = []
            for i, k in enumerate(keys):
                key, kid = _key_from_jwk(k, "%s: keys[%d]" % (where, i))
                out.append((key, kid, "jwks"))
            return out
        key, kid = _key_from_jwk(obj, where)
        return [(key, kid, "jwk")]
    if "-----BEGIN CERTIFICATE-----" in text:
        out = []
        for m in re.finditer(r"-----BEGIN CERTIFICATE-----.*?"
                             r"-----END CERTIFICATE-----", text, re.S):
            try:
                cert = x509.load_pem_x509_certificate(m.group(0).encode())
            except ValueError as e:
                raise StartupError("%s: bad PEM certificate (%s)"
                                   % (where, e)) from None
            _check_cert(cert, where)
            out.append((_with_x5t(_from_pyca(cert.public_key(), where),
                                  cert), None, "pem"))
        return out
    if "-----BEGIN PUBLIC KEY-----" in text:
        try:
            pub = serialization.load_pem_public_key(text.encode())
        except ValueError as e:
            raise StartupError("%s: bad PEM public key (%s)"
                               % (where, e)) from None
        return [(_from_pyca(pub, where), None, "pem-public-key")]
    if "-----BEGIN" in text:
        raise StartupError("%s: PEM private keys are not registered; give "
                           "the certificate or public key" % where)
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise StartupError("%s: neither a JWK, a JWKS, a PEM certificate nor "
                           "a base64 certificate" % where) from None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        cert = None
    if cert is not None:
        _check_cert(cert, where)
        return [(_with_x5t(_from_pyca(cert.public_key(), where), cert), None,
                 "base64-cert")]
    try:
        pub = serialization.load_der_public_key(der)
    except ValueError:
        raise StartupError("%s: base64 text is not a DER certificate"
                           % where) from None
    return [(_from_pyca(pub, where), None, "base64-spki")]


def parse_client_spec(spec):
    """ID:SCOPE:KEYFILE -> (id, scope, keyfile); ID ends at the first colon,
    KEYFILE starts after the last one, SCOPE may hold colons."""
    first = spec.find(":")
    last = spec.rfind(":")
    if first < 0 or last == first:
        raise StartupError("--client %s: expected ID:SCOPE:KEYFILE" % spec)
    cid, scope, path = spec[:first], spec[first + 1:last], spec[last + 1:]
    if not cid or not scope.strip() or not path:
        raise StartupError("--client %s: ID, SCOPE and KEYFILE must not be "
                           "empty" % spec)
    return cid, scope, path


# ---- JSON and base64url helpers ---------------------------------------------

def _no_dup_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate member %r" % k)
        out[k] = v
    return out


def strict_json(data):
    return json.loads(data, object_pairs_hook=_no_dup_pairs)


def b64url_decode(s):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def peek_jwt(assertion):
    """Decode header and payload WITHOUT verification (for routing the
    client id and for the stats); returns (header, payload), each a dict or
    None."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return None, None
    out = []
    for p in parts[:2]:
        try:
            v = strict_json(b64url_decode(p))
            out.append(v if isinstance(v, dict) else None)
        except (ValueError, UnicodeDecodeError):
            out.append(None)
    return out[0], out[1]


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---- server state -----------------------------------------------------------

class State:
    """Everything the handlers share; one lock guards it all."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.clients = {}        # id -> {"scope": str, "keys": [(jwk, kid)]}
        self.strict = args.strict
        self.provider_name = args.provider
        self.provider = PROVIDERS[args.provider]
        self.token_lifetime = args.token_lifetime
        self.tls = args.tls_cert is not None
        self.log_file = None
        if args.log:
            self.log_file = open(args.log, "a", encoding="utf-8")
        self.reset()

    def reset(self):
        self.misbehave = []      # [{"mode", "count", "retry_after", "delay"}]
        self.seen_jtis = set()
        self.tokens = {}         # token -> {"client_id", "scope", ...}
        self.stats = {
            "token_requests": 0,
            "token_successes": 0,
            "jtis": [],
            "audiences": [],
            "typs": [],
            "algs": [],
            "kids": [],
            "x5ts": [],
            "x5t_sha1s": [],
            "last_error": None,
            "last_error_description": None,
            "statuses": [],
            "check_requests": 0,
            "extra_fields": [],
        }

    def register(self, cid, scope, keys):
        c = self.clients.setdefault(cid, {"scope": scope, "keys": []})
        if c["scope"] != scope:
            raise StartupError("client %s registered with two scopes (%r, %r)"
                               % (cid, c["scope"], scope))
        c["keys"].extend((k, kid) for k, kid, _form in keys)
        return len(c["keys"])

    def log(self, line):
        if self.log_file is None:
            return
        with self.lock:
            self.log_file.write("%s %s\n" % (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), line))
            self.log_file.flush()


# ---- assertion verification -------------------------------------------------

def verify_assertion(state, form, base):
    """Client authentication as Duende's private_key_jwt validator does it.

    Returns the client id. Raises OAuthError("invalid_client") on any
    failure. Records alg/typ/kid/aud of every assertion whose signature
    verified, and the jti once the assertion is fully valid.
    """
    atype = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    if atype is None and assertion is None:
        raise OAuthError("invalid_client", "no client authentication "
                         "(client_assertion_type and client_assertion)")
    if atype != ASSERTION_TYPE:
        raise OAuthError("invalid_client", "client_assertion_type must be "
                         + ASSERTION_TYPE)
    if not assertion:
        raise OAuthError("invalid_client", "client_assertion missing")
    header, payload = peek_jwt(assertion)
    if header is None or payload is None:
        raise OAuthError("invalid_client", "client_assertion is not a "
                         "compact JWS with JSON header and claims")
    alg = header.get("alg")
    if alg not in ALGS:
        raise OAuthError("invalid_client", "alg %r not allowed" % (alg,))
    if "crit" in header or "b64" in header:
        raise OAuthError("invalid_client", "crit/b64 headers not supported")
    iss = payload.get("iss")
    if not isinstance(iss, str) or not iss:
        raise OAuthError("invalid_client", "iss missing")
    cid = form.get("client_id")
    if cid is not None and cid != iss:
        raise OAuthError("invalid_client", "client_id does not match iss")
    with state.lock:
        client = state.clients.get(iss)
        keys = list(client["keys"]) if client else []
    if client is None:
        raise OAuthError("invalid_client", "unknown client")

    # Every registered key is tried, whatever the kid, as Duende does.
    obj = jws.JWS()
    try:
        obj.deserialize(assertion)
    except Exception:
        raise OAuthError("invalid_client", "client_assertion does not "
                         "parse as JWS") from None
    obj.allowed_algs = ALGS
    # A JWK that names an alg is for that alg only (RFC 7517 4.4), as
    # OpenID Certified providers (panva's oidc-provider) enforce it.
    keys = [(k, kid) for k, kid in keys if k.get("alg") in (None, alg)]
    if not keys:
        raise OAuthError("invalid_client", "no applicable key found in the "
                         "JSON Web Key Set (the registered JWK names another "
                         "alg than %s)" % alg)
    if prov_algs(state) and alg not in prov_algs(state):
        raise OAuthError("invalid_client", "alg %s is not one of %s"
                         % (alg, " ".join(prov_algs(state))))
    if state.provider.get("x5t"):
        keys = entra_keys(keys, header)
    ok = False
    for key, _kid in keys:
        try:
            obj.verify(key, alg)
            ok = True
            break
        except Exception:
            continue
    if not ok:
        raise OAuthError("invalid_client", "signature does not verify with "
                         "any registered key")
    try:
        claims = strict_json(obj.payload)
    except (ValueError, UnicodeDecodeError):
        claims = None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_client", "claims are not a JSON object")

    typ = header.get("typ")
    aud = claims.get("aud")
    with state.lock:
        st = state.stats
        st["audiences"].append(aud)
        st["typs"].append(typ)
        st["algs"].append(alg)
        st["kids"].append(header.get("kid"))
        st["x5ts"].append(header.get("x5t#S256"))
        st["x5t_sha1s"].append(header.get("x5t"))
        strict = state.strict
        prov = state.provider

    now = time.time()
    if claims.get("iss") != iss or claims.get("sub") != iss:
        raise OAuthError("invalid_client", "iss and sub must both be the "
                         "client id")
    exp = claims.get("exp")
    if not _is_num(exp):
        raise OAuthError("invalid_client", "exp missing or not a number")
    if exp + SKEW < now:
        raise OAuthError("invalid_client", "assertion expired")
    for c in ("nbf", "iat"):
        if c in claims:
            if not _is_num(claims[c]):
                raise OAuthError("invalid_client", "%s is not a number" % c)
            if claims[c] - SKEW > now:
                raise OAuthError("invalid_client", "%s is in the future" % c)

    issuer = base + prov["issuer"]
    token_eps = [base + p for p in prov["token"] + prov.get("v1", [])]
    # The draft-ietf-oauth-rfc7523bis typ asks for the strict audience
    # rules even when the server is not strict, as Duende's
    # PrivateKeyJwtSecretValidator does; like it, typ is compared ignoring
    # case and the issuer ignoring one trailing slash.
    strict_typ = isinstance(typ, str) and typ.lower() == STRICT_TYP
    if strict or strict_typ:
        if not strict_typ:
            raise OAuthError("invalid_client", "typ must be " + STRICT_TYP)
        if aud not in (issuer, issuer + "/"):
            raise OAuthError("invalid_client", "aud must be the issuer %s as "
                             "a single string" % issuer)
    else:
        auds = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and (a == issuer or a in token_eps)
                   for a in auds):
            raise OAuthError("invalid_client", "aud must contain %s or %s"
                             % (token_eps[0], issuer))

    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise OAuthError("invalid_client", "jti missing")
    with state.lock:
        if jti in state.seen_jtis:
            replay = True
        else:
            replay = False
            state.seen_jtis.add(jti)
    if replay:
        raise OAuthError("invalid_client", "jti already used (replay)")
    return iss


def prov_algs(state):
    return state.provider.get("algs")


def entra_keys(keys, header):
    """Entra ID finds a certificate by the assertion's x5t#S256 or x5t
    header; a key registered without a certificate (a JWK) by its kid."""
    x5t, x5t256 = header.get("x5t"), header.get("x5t#S256")
    if x5t is None and x5t256 is None:
        found = [(k, kid) for k, kid in keys
                 if kid is not None and kid == header.get("kid")]
        if not found:
            raise OAuthError("invalid_client", "AADSTS700027: the client "
                             "assertion has no x5t or x5t#S256 header, and "
                             "its kid names no registered key")
        return found
    found = [(k, kid) for k, kid in keys
             if getattr(k, "x5ts", None) and
             (x5t256 is None or k.x5ts["x5t#S256"] == x5t256) and
             (x5t is None or k.x5ts["x5t"] == x5t)]
    if not found:
        raise OAuthError("invalid_client", "AADSTS700027: the certificate "
                         "named by x5t/x5t#S256 is not registered for this "
                         "application")
    return found


def check_scope(state, cid, requested):
    if requested is None or not requested.strip():
        raise OAuthError("invalid_scope", "scope missing")
    with state.lock:
        registered = state.clients[cid]["scope"].split()
    want = requested.split()
    for s in want:
        if s not in registered:
            raise OAuthError("invalid_scope", "scope %r is not allowed for "
                             "this client" % s)
    return " ".join(want)


def scope_summary(scope):
    """Puzzel answers "contact-centre" for contact-centre:TENANT:USER."""
    out = []
    for s in scope.split():
        s = s.split(":", 1)[0]
        if s not in out:
            out.append(s)
    return " ".join(out)


def tenant_user(scope):
    for s in scope.split():
        parts = s.split(":")
        if len(parts) == 3 and parts[0] == "contact-centre":
            return parts[1], parts[2]
    return None, None


# ---- HTTP -------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "puzzel-endpoint/1"
    timeout = CONN_TIMEOUT

    # -- plumbing --

    @property
    def state(self):
        return self.server.state

    def log_message(self, fmt, *args):
        pass  # our own log line, without any secret, is written in _send

    def _base(self):
        host = self.headers.get("Host")
        if not host:
            host = "127.0.0.1:%d" % self.server.server_address[1]
        return ("https" if self.state.tls else "http") + "://" + host

    def _path(self):
        return urllib.parse.urlsplit(self.path).path

    def _read_body(self):
        n = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise OAuthError("invalid_request", "chunked bodies are not "
                             "supported; send Content-Length")
        try:
            n = int(n) if n is not None else 0
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise OAuthError("invalid_request", "bad or too large "
                             "Content-Length")
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json",
              headers=None, error=None, cache="no-store"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            self.send_header("Pragma", "no-cache")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout,
                ssl.SSLError):
            self.close_connection = True
        self.state.log("%s %s %d %s" % (self.command, self._path(), status,
                                        error or "-"))

    def _error(self, e, headers=None):
        self._send(e.status, {"error": e.error,
                              "error_description": e.description},
                   headers=headers, error=e.error)

    def _not_found(self):
        self._send(404, {"error": "not_found",
                         "error_description": "no such endpoint"},
                   error="not_found")

    # -- routing --

    def do_GET(self):
        p = self._path()
        if p == self._discovery_path():
            self._discovery()
        elif p == CHECK_PATH:
            self._check()
        elif p == "/_test/stats":
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            with self.state.lock:
                if "get" in q:  # one value, as text: tests/endpoint/start.sh
                    v = stat_value(self.state.stats, q["get"][0])
                else:
                    body = json.dumps(self.state.stats)
            if "get" not in q:
                self._send(200, body)
            elif v is None:
                self._not_found()
            else:
                self._send(200, v + "\n", ctype="text/plain")
        else:
            self._not_found()

    def do_POST(self):
        p = self._path()
        prov = self.state.provider
        if p in prov["token"] + prov.get("v1", []):
            self._token()
            return
        if p.startswith("/_test/"):
            self._control(p)
            return
        try:
            self._read_body()
        except OAuthError:
            pass
        self._not_found()

    def do_PUT(self):
        self.close_connection = True
        self._not_found()

    do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

    # -- endpoints --

    def _discovery_path(self):
        """OpenID Connect's place (the issuer and the well-known path), or
        for "generic" RFC 8414's (the well-known path before the issuer's
        path)."""
        prov = self.state.provider
        if prov.get("rfc8414"):
            return "/.well-known/oauth-authorization-server" + (
                "" if prov["issuer"] == "/" else prov["issuer"])
        return prov["issuer"].rstrip("/") + "/.well-known/openid-configuration"

    def _discovery(self):
        base = self._base()
        prov = self.state.provider
        self._send(200, {
            "issuer": base + prov["issuer"],
            "token_endpoint": base + prov["token"][0],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported":
                prov.get("algs", ALGS),
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": ["contact-centre"],
        }, cache="max-age=3600")

    def _check(self):
        st = self.state
        with st.lock:
            st.stats["check_requests"] += 1
        auth = self.headers.get("Authorization")
        www = 'Bearer realm="puzzel-test"'
        if auth is None:
            self._error(OAuthError("invalid_token", "no Authorization header",
                                   401), {"WWW-Authenticate": www})
            return
        m = re.fullmatch(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)",
                         auth.strip())
        if not m:
            self._error(OAuthError("invalid_token", "Authorization header is "
                                   "not 'Bearer TOKEN'", 401),
                        {"WWW-Authenticate": www + ', error="invalid_request"'})
            return
        now = time.time()
        with st.lock:
            info = st.tokens.get(m.group(1))
            info = dict(info) if info else None
        if info is None or info["expires_at"] <= now:
            why = "unknown token" if info is None else "token expired"
            self._error(OAuthError("invalid_token", why, 401),
                        {"WWW-Authenticate": www + ', error="invalid_token"'})
            return
        tenant, user = tenant_user(info["scope"])
        if tenant is None:
            # Like Contact Centre when no product user is associated.
            self._error(OAuthError("insufficient_scope", "the token's scope "
                                   "names no contact-centre:TENANT_ID:USER_ID",
                                   403),
                        {"WWW-Authenticate":
                         www + ', error="insufficient_scope"'})
            return
        self._send(200, {
            "active": True,
            "client_id": info["client_id"],
            "scope": info["scope"],
            "tenant_id": tenant,
            "user_id": user,
            "issued_at": int(info["issued_at"]),
            "expires_at": int(info["expires_at"]),
            "expires_in": max(0, int(info["expires_at"] - now)),
        })

    def _token(self):
        st = self.state
        try:
            raw = self._read_body()
        except OAuthError as e:
            with st.lock:
                st.stats["token_requests"] += 1
            self._token_error(e)
            return
        form, form_err = self._parse_form(raw)
        with st.lock:
            st.stats["token_requests"] += 1
            mb = None
            if st.misbehave:
                mb = dict(st.misbehave[0])
                st.misbehave[0]["count"] -= 1
                if st.misbehave[0]["count"] <= 0:
                    st.misbehave.pop(0)
            # Every jti that arrives is listed, verified or not, so tests
            # can see that each attempt carries a fresh one.
            jti = None
            if form is not None:
                # the fields beyond the five a client always sends
                st.stats["extra_fields"].append(
                    {k: v for k, v in form.items() if k not in FORM_FIELDS})
            if form:
                _h, pl = peek_jwt(form.get("client_assertion") or "")
                if pl is not None and isinstance(pl.get("jti"), str):
                    jti = pl["jti"]
                    st.stats["jtis"].append(jti)
            # A misbehaving server may still have processed the request,
            # so its jti is burnt too: a client must never resend one.
            if mb and jti is not None and mb["mode"] != "slow":
                st.seen_jtis.add(jti)
        if mb and mb["mode"] != "slow":
            self._misbehave(mb)
            return
        if mb:
            time.sleep(mb["delay"])
        try:
            if form_err:
                raise form_err
            resp = self._issue(form, self._path())
        except OAuthError as e:
            self._token_error(e)
            return
        with st.lock:
            st.stats["token_successes"] += 1
            st.stats["statuses"].append(200)
        self._send(200, resp)

    def _token_error(self, e):
        with self.state.lock:
            self.state.stats["last_error"] = e.error
            self.state.stats["last_error_description"] = e.description
            self.state.stats["statuses"].append(e.status)
        self._error(e)

    def _parse_form(self, raw):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype.strip().lower() != "application/x-www-form-urlencoded":
            return None, OAuthError("invalid_request", "Content-Type must be "
                                    "application/x-www-form-urlencoded")
        try:
            pairs = urllib.parse.parse_qsl(raw.decode("utf-8"),
                                           keep_blank_values=True,
                                           strict_parsing=bool(raw))
        except (UnicodeDecodeError, ValueError):
            return None, OAuthError("invalid_request", "body is not a form")
        form = {}
        for k, v in pairs:
            if k in form:
                # RFC 6749 3.2: parameters must not be repeated.
                return form, OAuthError("invalid_request",
                                        "parameter %s repeated" % k)
            form[k] = v
        return form, None

    def _issue(self, form, path):
        st = self.state
        prov = st.provider
        v1 = path in prov.get("v1", [])
        cid = verify_assertion(st, form, self._base())
        gt = form.get("grant_type")
        if gt != "client_credentials":
            raise OAuthError("unsupported_grant_type",
                             "grant_type must be client_credentials")
        field = "resource" if v1 else prov.get("field")
        if field and not form.get(field):
            raise OAuthError("invalid_request", "the %s field is missing"
                             % field)
        requested = form.get("scope")
        suffix = prov.get("scope_suffix")
        if suffix and v1 and requested and requested.endswith(suffix):
            requested = requested[:-len(suffix)]  # v1 goes by resource
        elif suffix:
            # Entra v2: API/.default; the app's scope is the API part
            if not requested or not requested.endswith(suffix):
                raise OAuthError("invalid_scope", "AADSTS70011: the scope "
                                 "must be the resource followed by "
                                 + suffix)
            requested = requested[:-len(suffix)]
        scope = check_scope(st, cid, requested)
        token = secrets.token_urlsafe(32)
        now = time.time()
        with st.lock:
            lifetime = st.token_lifetime
            st.tokens[token] = {"client_id": cid, "scope": scope,
                                "issued_at": now,
                                "expires_at": now + lifetime}
        answer = {"access_token": token, "expires_in": lifetime,
                  "token_type": "Bearer", "scope": scope_summary(scope)}
        answer.update(prov.get("answer", {}))
        if v1:
            # Entra v1 writes its numbers as strings
            answer["expires_in"] = str(lifetime)
            answer["resource"] = form.get("resource")
        if prov.get("no_expires_in"):
            del answer["expires_in"]
        return answer

    def _misbehave(self, mb):
        mode = mb["mode"]
        st = self.state
        with st.lock:
            st.stats["statuses"].append(mode)
        if mode == "503":
            h = {}
            if mb.get("retry_after") is not None:
                h["Retry-After"] = str(mb["retry_after"])
            self._send(503, {"error": "temporarily_unavailable",
                             "error_description": "service unavailable "
                             "(test misbehaviour)"}, headers=h, error="503")
        elif mode == "429":
            ra = mb.get("retry_after")
            self._send(429, {"error": "temporarily_unavailable",
                             "error_description": "too many requests "
                             "(test misbehaviour)"},
                       headers={"Retry-After": str(1 if ra is None else ra)},
                       error="429")
        elif mode == "garbage":
            self._send(200, "<html><body>this is not JSON {{{</body></html>",
                       ctype="application/json", error="garbage")
        elif mode == "oversize":
            head = '{"access_token":"'
            tail = '","expires_in":900,"token_type":"Bearer",' \
                   '"scope":"contact-centre"}'
            pad = OVERSIZE - len(head) - len(tail)
            self._send(200, head + "A" * pad + tail, error="oversize")
        elif mode == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            st.log("%s %s drop -" % (self.command, self._path()))
        elif mode == "error200":
            self._send(200, {"error": "server_error",
                             "error_description": "error in a 200 (test "
                             "misbehaviour)"}, error="error200")
        elif mode == "invalid_client":
            self._token_error(OAuthError("invalid_client", "refused (test "
                                         "misbehaviour)"))
        else:
            self._shape(mode)

    def _shape_token(self, lifetime):
        """A token the check endpoint accepts, for the answer shapes."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.state.lock:
            self.state.tokens[token] = {"client_id": "shape",
                                        "scope": "contact-centre",
                                        "issued_at": now,
                                        "expires_at": now + lifetime}
        return token

    def _shape(self, mode):
        """Answers in the shapes of other providers (issue 9)."""
        ok = {"token_type": "Bearer"}
        if mode == "no_expires_in":
            ok["access_token"] = self._shape_token(300)
            self._send(200, ok, error=mode)
        elif mode == "jwt_no_expires_in":
            # an Okta/Auth0-like JWT access token whose exp says 1234 s
            def part(o):
                return base64.urlsafe_b64encode(
                    json.dumps(o).encode()).rstrip(b"=").decode()
            ok["access_token"] = "%s.%s.%s" % (
                part({"alg": "RS256", "typ": "JWT"}),
                part({"exp": int(time.time()) + 1234, "sub": "shape"}),
                "c2ln")
            self._send(200, ok, error=mode)
        elif mode in ("huge_expires_in", "string_expires_in"):
            ok["access_token"] = self._shape_token(900)
            ok["expires_in"] = (10 ** 12 if mode == "huge_expires_in"
                                else "900")
            self._send(200, ok, error=mode)
        elif mode in ("bom", "gzip", "gzip_unlabelled", "unknown_encoding"):
            ok["access_token"] = self._shape_token(900)
            ok["expires_in"] = 900
            body = json.dumps(ok).encode()
            h = {}
            if mode == "bom":
                body = b"\xef\xbb\xbf" + body
            elif mode == "unknown_encoding":
                h["Content-Encoding"] = "x-pkjwt-test"
            else:
                body = gzip.compress(body)
                if mode == "gzip":
                    h["Content-Encoding"] = "gzip"
            self._send(200, body, headers=h, error=mode)
        elif mode == "entra_error":
            self._send(401, {"error": "invalid_client",
                             "error_description": "AADSTS700027: Client "
                             "assertion contains an invalid signature.",
                             "error_codes": [700027],
                             "trace_id": "0b1c-test-trace",
                             "correlation_id": "7e2d-test-corr"},
                       error=mode)
        elif mode == "bare_error":
            self._send(401, {"error": "invalid_client"}, error=mode)
        elif mode == "keycloak_sig":
            self._send(400, {"error": "unauthorized_client",
                             "error_description": "Client authentication "
                             "with signed JWT failed: Signature on JWT token "
                             "failed validation"}, error=mode)

    def _control(self, p):
        st = self.state
        try:
            raw = self._read_body()
            body = strict_json(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except (OAuthError, ValueError, UnicodeDecodeError) as e:
            self._send(400, {"error": "invalid_request",
                             "error_description": str(e)},
                       error="invalid_request")
            return
        try:
            out = self._control_op(p, body)
        except (ValueError, TypeError, StartupError) as e:
            self._send(400, {"error": "invalid_request",
                             "error_description": str(e)},
                       error="invalid_request")
            return
        if out is None:
            self._not_found()
        else:
            self._send(200, out)

    def _control_op(self, p, body):
        st = self.state
        if p == "/_test/misbehave":
            mode = str(body.get("mode"))
            if mode not in MODES:
                raise ValueError("mode must be one of " + ", ".join(MODES))
            count = body.get("count", 1)
            ra = body.get("retry_after")
            delay = body.get("delay", 5)
            if not isinstance(count, int) or isinstance(count, bool) \
                    or count < 1:
                raise ValueError("count must be a positive integer")
            if ra is not None and (not isinstance(ra, int)
                                   or isinstance(ra, bool) or ra < 0):
                raise ValueError("retry_after must be a non-negative integer")
            if not _is_num(delay) or delay < 0 or delay > 600:
                raise ValueError("delay must be a number of seconds")
            with st.lock:
                st.misbehave.append({"mode": mode, "count": count,
                                     "retry_after": ra, "delay": delay})
                queued = sum(m["count"] for m in st.misbehave)
            return {"queued": queued}
        if p == "/_test/reset":
            with st.lock:
                st.reset()
            return {"reset": True}
        if p == "/_test/expire":
            with st.lock:
                now = time.time()
                for t in st.tokens.values():
                    t["expires_at"] = min(t["expires_at"], now - 1)
                n = len(st.tokens)
            return {"expired": n}
        if p == "/_test/config":
            with st.lock:
                if "strict" in body:
                    if not isinstance(body["strict"], bool):
                        raise ValueError("strict must be true or false")
                    st.strict = body["strict"]
                if "token_lifetime" in body:
                    tl = body["token_lifetime"]
                    if not isinstance(tl, int) or isinstance(tl, bool) \
                            or tl < 1:
                        raise ValueError("token_lifetime must be a positive "
                                         "integer")
                    st.token_lifetime = tl
                return {"strict": st.strict,
                        "token_lifetime": st.token_lifetime}
        if p == "/_test/register":
            cid, scope, key = (body.get("client_id"), body.get("scope"),
                               body.get("key"))
            if not all(isinstance(v, str) and v for v in (cid, scope, key)):
                raise ValueError("client_id, scope and key are required "
                                 "strings")
            keys = load_keys(key, "key")
            with st.lock:
                n = st.register(cid, scope, keys)
            return {"client_id": cid, "keys": n}
        return None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Stampede tests open dozens of connections at once; the default
    # backlog of 5 would make some of them wait for a SYN retry.
    request_queue_size = 256

    def __init__(self, addr, state, tls_ctx):
        self.state = state
        self.tls_ctx = tls_ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's own thread, so a
        # slow or refusing client never blocks the accept loop.
        request.settimeout(CONN_TIMEOUT)
        if self.tls_ctx is not None:
            try:
                request = self.tls_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        try:
            super().finish_request(request, client_address)
        finally:
            if request is not None and self.tls_ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        # A client going away mid-answer is normal in these tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port.", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description="A Puzzel-shaped token endpoint for tests "
        "(127.0.0.1 only).")
    ap.add_argument("--port-file", required=True,
                    help="write the port number here once listening")
    ap.add_argument("--port", type=int, default=0,
                    help="port to listen on (0: any free port)")
    ap.add_argument("--bind", default="127.0.0.1",
                    help="only 127.0.0.1 is accepted")
    ap.add_argument("--tls-cert", help="PEM certificate (chain) for https")
    ap.add_argument("--tls-key", help="PEM private key for https")
    ap.add_argument("--strict", action="store_true",
                    help="aud must be the issuer and typ "
                    "client-authentication+jwt")
    ap.add_argument("--provider", default="puzzel", choices=sorted(PROVIDERS),
                    help="the provider shape: its paths and rules "
                    "(default puzzel)")
    ap.add_argument("--token-lifetime", type=int, default=900,
                    help="expires_in of issued tokens, seconds")
    ap.add_argument("--max-seconds", type=float, default=600,
                    help="exit after this many seconds")
    ap.add_argument("--log", help="append one line per request here")
    ap.add_argument("--client", action="append", default=[],
                    metavar="ID:SCOPE:KEYFILE",
                    help="register a client key (repeatable)")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.bind != "127.0.0.1":
        raise StartupError("--bind %s: only 127.0.0.1 is allowed" % args.bind)
    if not 0 <= args.port <= 65535:
        raise StartupError("--port %d: out of range" % args.port)
    if args.token_lifetime < 1:
        raise StartupError("--token-lifetime must be positive")
    if args.max_seconds <= 0:
        raise StartupError("--max-seconds must be positive")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise StartupError("--tls-cert and --tls-key go together")
    if not args.client:
        raise StartupError("no --client registered")
    try:
        state = State(args)
    except OSError as e:
        raise StartupError("%s: %s" % (args.log, e.strerror)) from None
    for spec in args.client:
        cid, scope, path = parse_client_spec(spec)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise StartupError("%s: cannot read key file (%s)"
                               % (path, getattr(e, "strerror", None) or e)
                               ) from None
        state.register(cid, scope, load_keys(text, path))
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            raise StartupError("%s: cannot load TLS certificate/key (%s)"
                               % (args.tls_cert, e)) from None
    try:
        server = Server(("127.0.0.1", args.port), state, tls_ctx)
    except OSError as e:
        raise StartupError("127.0.0.1:%d: %s" % (args.port, e.strerror)) \
            from None

    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=server.serve_forever,
                         kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    port = server.server_address[1]
    try:
        try:
            write_port_file(args.port_file, port)
        except OSError as e:
            raise StartupError("%s: cannot write port file (%s)"
                               % (args.port_file, e.strerror)) from None
        print("%s: listening on %s://127.0.0.1:%d"
              % (PROG, "https" if tls_ctx else "http", port), file=sys.stderr)
        deadline = time.monotonic() + args.max_seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                print("%s: --max-seconds reached, stopping" % PROG,
                      file=sys.stderr)
                break
            stop.wait(min(left, 0.5))
    finally:
        server.shutdown()
        server.server_close()
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except StartupError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        sys.exit(2)
