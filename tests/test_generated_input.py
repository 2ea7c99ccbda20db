"""Issue 12 §2: generated bad input on everything the app declares, as every role.

Nothing here lists the app's forms or fields. The routes come from ``app.url_map`` (with
the access matrix's sample URLs for ids and door tokens of each household); the forms are
the ones the pages render, found by signing in as each role and reading every page (and the
pages it links to); the query parameters are those the pages' links and GET forms carry
plus every name the package's code reads from ``request.args``. A new page, form, field or
parameter is covered as soon as a page renders it.

Each form is sent with every field in turn replaced by generated bad values (wrong types,
huge and negative numbers, long strings, control characters, lone surrogates and bytes that
are no UTF-8, unknown choices, other records' ids, impossible dates), missing and
duplicated; then as every other role (someone else's ids and forms). Every path converter
gets out-of-range and malformed values, every query parameter bad and duplicated values.

The test fails on any server error (an exception or a 5xx) and on any row stored (or
removed) by a refused request (4xx: the app refuses a form with 422). The generator is seeded:
``CAREVISITS_FUZZ_SEED`` reproduces a run, ``CAREVISITS_FUZZ_BUDGET`` (values per field,
default 3) widens it. A failure lists the requests that failed, as they were sent."""

import io
import os
import random
import re
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlsplit

from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from carevisits.extensions import db, limiter
from carevisits.models import User
from tests.conftest import login
from tests.test_access import ROLES, ROUTES, matrix_world  # noqa: F401  (the fixture)

SEED = int(os.environ.get("CAREVISITS_FUZZ_SEED", "12"))
BUDGET = int(os.environ.get("CAREVISITS_FUZZ_BUDGET", "3"))
PACKAGE = Path(__file__).resolve().parent.parent / "carevisits"

# --- the bad values ------------------------------------------------------------------------

SURROGATE = b"\xed\xa0\x80"  # a lone surrogate as a phone might send it (CESU-8)
NOT_UTF8 = b"\xff\xfe\xc3("
TEXT = ["", " \u3000 ", "\x00", "a\x01b\x1b[31mc\x7f", "\u200b\u202e", "x" * 5000, "老" * 400,
        "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "%s%n{0}", "\r\n\r\n",
        SURROGATE, NOT_UTF8, "\ufffe\uffff"]
NUMBERS = ["-1", "0", "-0", str(2**31), str(2**63), "9" * 30, "9" * 400, "9" * 5000,
           "-" + "9" * 30, "1e309", "nan", "inf", "80.5", "abc", "0x10", "１２", "1_000", " 7 ",
           "²", "١٢"]
DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "99999-01-01", "2026-13-01", "1-1-1",
         "today"]
DATETIMES = ["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00", "2026-11-18T25:00",
             "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]
TIMES = ["25:00", "23:60", "-1:00", "00:00:00.000001", "9" * 30]
CHOICES = ["zzz", "  ", "s:1", "c:999999", "g:" + "9" * 30, "g:-1", "c:", "admin"]
IDS = [str(n) for n in range(1, 13)] + [str(2**31 - 1), str(2**31), str(2**63)]
FILES = [(b"", "empty.xlsx"), (b"\x00\xff" * 64, "noise.xlsx"),
         (b"PK\x03\x04broken", "zip.xlsx"),
         ("姓名,出生年份,联系电话\n张三,99999999999999999999,1\n\x00,abc,\x01\n".encode(),
          "bad.csv"),
         ("姓名,住址\n李四,芙蓉街\n".encode("gbk"), "gbk.csv"), (SURROGATE * 10, "s.csv")]
INT_PATH = ["0", "00000001", str(2**31 - 1), str(2**31), str(2**63), "9" * 30, "9" * 5000]
STRING_PATH = ["x" * 3000, "%00", "%01%1b", "%ED%A0%80", "%FF", "..", "%2e%2e%2f", "老人",
               "%20", "a%0Ab"]


def values_for(kind: str) -> list:
    """The bad values a field of this kind gets."""
    if kind in ("number", "range"):
        return NUMBERS + TEXT[:4]
    if kind == "date":
        return DATES + NUMBERS[:3] + TEXT[:3]
    if kind in ("datetime-local", "datetime"):
        return DATETIMES + DATES[:2] + TEXT[:3]
    if kind == "time":
        return TIMES + TEXT[:3]
    if kind in ("select", "radio", "checkbox"):
        return CHOICES + IDS + NUMBERS[3:8] + TEXT[:4]
    if kind == "hidden":
        return TEXT + NUMBERS + DATETIMES[:3] + IDS[-3:]
    return TEXT + NUMBERS[3:9]


# --- what the pages render ---------------------------------------------------------------

@dataclass
class FormField:
    name: str
    kind: str
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class PageForm:
    method: str
    action: str
    multipart: bool
    fields: list[FormField] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def baseline(self, upload=FILES[-2]) -> list[tuple[str, object]]:
        """What the form sends as rendered: the values shown, the choices made (or the first
        one offered), ``upload`` (content, filename) for a file, the first named button."""
        pairs: list[tuple[str, object]] = []
        radios_done: set[str] = set()
        for f in self.fields:
            if f.kind == "file":
                pairs.append((f.name, upload))
            elif f.kind == "radio":
                if f.name not in radios_done and (f.value or f.options):
                    radios_done.add(f.name)
                    pairs.append((f.name, f.value or f.options[0]))
            elif f.kind == "checkbox":
                if f.value:
                    pairs.append((f.name, f.value))
            elif f.kind == "select":
                pairs.append((f.name, f.value or next((o for o in f.options if o), "")))
            else:
                pairs.append((f.name, f.value))
        return pairs + self.buttons[:1]


class PageReader(HTMLParser):
    """The forms and links of one HTML page."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url, self.forms, self.links = url, [], []
        self._form: PageForm | None = None
        self._select: FormField | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = PageForm(a.get("method", "get").lower(), a.get("action") or self.url,
                                  "multipart" in a.get("enctype", ""))
            self.forms.append(self._form)
        elif self._form is None or not a.get("name") or "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image", "button"):
                self._form.buttons.append((a["name"], a.get("value", "")))
            elif kind in ("radio", "checkbox"):
                self._form.fields.append(FormField(a["name"], kind, a.get(
                    "value", "on") if "checked" in a else "", [a.get("value", "on")]))
            else:
                self._form.fields.append(FormField(a["name"], kind, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = FormField(a["name"], "select")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "textarea":
            self._textarea = FormField(a["name"], "textarea")
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def declared_query_names() -> set[str]:
    """Every name the package reads from a request's query string (``args.get("x")``,
    ``args["x"]``), found in its source."""
    pattern = re.compile(r"args(?:\.get|\.getlist)?\s*[\[(]\s*\"(\w+)\"")
    return {name for path in PACKAGE.rglob("*.py") for name in pattern.findall(path.read_text())}


# --- sending and checking ----------------------------------------------------------------

def encode(pairs) -> bytes:
    """A urlencoded body; values may be bytes (no UTF-8, a lone surrogate) sent as they are."""
    return "&".join(
        f"{quote(str(k), safe='')}="
        + quote_from_bytes(v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogatepass"),
                           safe="")
        for k, v in pairs).encode()


def multipart(pairs) -> dict:
    data: dict = {}
    for k, v in pairs:
        if isinstance(v, tuple):
            v = (io.BytesIO(v[0]), v[1])
        elif isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        data.setdefault(k, []).append(v)
    return data


class Prober:
    """Sends requests as each role and keeps what went wrong."""

    def __init__(self, app, world):
        self.app, self.world = app, world
        self.clients = {role: app.test_client() for role in ROLES}
        self.users = {role: getattr(world, role) for role in ROLES if role != "anonymous"}
        self.saved = {role: {c.key: getattr(u, c.key) for c in User.__table__.columns}
                      for role, u in self.users.items()}
        self.tables = list(db.metadata.sorted_tables)
        self.failures: dict[str, str] = {}
        self.sent = 0
        self.last_rows: tuple[int, ...] | None = None
        self.download: tuple[bytes, str] | None = None  # the biggest CSV the app served
        for role in self.users:
            self.sign_in(role)

    def sign_in(self, role: str) -> None:
        """Sign in; an account that a fuzzed admin form changed is put back first."""
        if login(self.clients[role], self.users[role]).status_code == 302:
            return
        db.session.rollback()
        db.session.execute(User.__table__.update().where(User.id == self.saved[role]["id"])
                           .values(**self.saved[role]))
        db.session.commit()
        limiter.reset()
        assert login(self.clients[role], self.users[role]).status_code == 302, role

    def rows(self) -> tuple[int, ...]:
        db.session.rollback()
        counts = db.session.execute(select(*[
            select(func.count()).select_from(t).scalar_subquery() for t in self.tables])).one()
        db.session.rollback()
        return tuple(counts)

    def send(self, role: str, method: str, url: str, pairs=None, files=False,
             query=False) -> object | None:
        """One request; a server error or a refusal that changed rows is a failure."""
        client, self.sent = self.clients[role], self.sent + 1
        kwargs = {}
        if pairs is not None and query:
            url = url.split("?")[0] + "?" + encode(pairs).decode()
        elif pairs is not None and files:
            kwargs = {"data": multipart(pairs), "content_type": "multipart/form-data"}
        elif pairs is not None:
            kwargs = {"data": encode(pairs),
                      "content_type": "application/x-www-form-urlencoded"}
        # The rows as the last POST left them (nothing but a POST writes, sign-ins aside).
        before = None
        if method == "POST":
            before = self.last_rows if self.last_rows is not None else self.rows()
        self.last_rows = None
        what = f"{role} {method} {url[:300]} {repr(pairs)[:600] if pairs else ''}"
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001 - every server error is a finding
            frames = traceback.extract_tb(error.__traceback__)
            where = next((f for f in reversed(frames) if "/carevisits/" in f.filename
                          or "/templates/" in f.filename), frames[-1])
            key = f"{type(error).__name__} at {where.filename}:{where.lineno}"
            self.failures.setdefault(key, f"{key}: {error!s:.200}\n    {what}")
            db.session.rollback()
            return None
        if response.status_code >= 500:
            self.failures.setdefault(f"{response.status_code} {url}", f"{response.status_code}"
                                     f"\n    {what}")
        after = self.rows() if before is not None else None
        if before is not None and response.status_code >= 400 and after != before:
            changed = [t.name for t, a, b in zip(self.tables, before, after, strict=True)
                       if a != b]
            self.failures.setdefault(f"stored {url} {changed}", f"{response.status_code} "
                                     f"refused but changed {changed}\n    {what}")
        if response.status_code == 200 and response.mimetype == "text/csv" and \
                len(response.data) > len((self.download or (b"",))[0]):
            self.download = (response.data, "served.csv")
        if (role != "anonymous" and response.status_code == 302
                and urlsplit(response.location).path == "/login"):
            self.sign_in(role)  # the fuzz signed this role out: carry on signed in
        else:
            self.last_rows = after
        return response


# --- the test ----------------------------------------------------------------------------

def path_of(url: str) -> str:
    return urlsplit(url).path


def sample_urls(app, world) -> dict[str, list[str]]:
    """Per GET or POST endpoint, URLs with real ids of every household (the access matrix's
    samples; an endpoint without one gets ids 1 to 4)."""
    urls: dict[str, list[str]] = {}
    households = [world.h1, world.h2, world.h3, world.h4]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.endpoint in ROUTES:
            make = ROUTES[rule.endpoint][1]
            urls[rule.endpoint] = list(dict.fromkeys(make(world, h) for h in households))
        else:
            urls[rule.endpoint] = [re.sub(r"<[^>]+>", str(n), rule.rule) for n in range(1, 5)]
    return urls


def endpoint_of(app, url: str, method: str = "GET") -> str | None:
    """The endpoint a URL of the app reaches with this method, if any."""
    try:
        return app.url_map.bind("localhost").match(path_of(url), method=method)[0]
    except Exception:  # noqa: BLE001 - not a route of the app, or not that method
        return None


def read_page(url: str, response) -> PageReader:
    page = PageReader(url)
    page.feed(response.get_data(as_text=True))
    return page


def post_forms(app, url: str, response) -> dict[tuple, PageForm]:
    """The POST forms of a page, by endpoint and field names."""
    found = {}
    for form in read_page(url, response).forms:
        target = endpoint_of(app, form.action, "POST") if form.method == "post" else None
        if target is not None:
            found.setdefault((target, tuple(sorted({f.name for f in form.fields}))), form)
    return found


def crawl(prober: Prober, app, samples) -> tuple[dict, dict]:
    """Every page each role can open from the samples and their links (one step): the forms
    found (by endpoint and field names, with the role that saw them first) and the query
    parameter names each endpoint's links and GET forms use."""
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    forms: dict[tuple, tuple[str, PageForm]] = {}
    params: dict[str, set[str]] = {}
    seen: dict[tuple, int] = {}
    for role in ROLES:
        queue = [u for e, us in samples.items() for u in us if "GET" in rules[e].methods]
        depth = {u: 0 for u in queue}
        while queue:
            url = queue.pop(0)
            endpoint = endpoint_of(app, url)
            shape = (role, endpoint, tuple(sorted(k for k, _ in parse_qsl(urlsplit(url).query))))
            if endpoint in (None, "auth.logout") or seen.get(shape, 0) >= 4:
                continue
            seen[shape] = seen.get(shape, 0) + 1
            response = prober.send(role, "GET", url)
            if response is None or response.status_code != 200 or \
                    "html" not in response.content_type:
                continue
            page = read_page(url, response)
            for href in page.links:
                target = endpoint_of(app, href)
                if target is None or urlsplit(href).netloc:
                    continue
                params.setdefault(target, set()).update(k for k, _ in parse_qsl(
                    urlsplit(href).query, keep_blank_values=True))
                if depth[url] < 1 and href not in depth:
                    depth[href] = depth[url] + 1
                    queue.append(href)
            for form in page.forms:
                if form.method == "get":
                    target = endpoint_of(app, form.action) or endpoint
                    params.setdefault(target, set()).update(f.name for f in form.fields)
            for key, form in post_forms(app, url, response).items():
                forms.setdefault(key, (role, form))
    return forms, params


def mutations(form: PageForm, rng: random.Random, upload=FILES[-2]):
    """The form's baseline with one field at a time bad, missing or duplicated with a bad
    second value; then all of its fields bad at once, then nothing at all."""
    base = form.baseline(upload)
    names = list(dict.fromkeys(k for k, _ in base))
    kinds = {f.name: f.kind for f in form.fields}
    for name in names:
        kind = kinds.get(name, "hidden")
        pool = FILES if kind == "file" else values_for(kind)
        for bad in rng.sample(pool, min(BUDGET, len(pool))) + [pool[-1] if kind == "file"
                                                                else "9" * 400]:
            yield [(k, bad if k == name else v) for k, v in base]
        yield [(k, v) for k, v in base if k != name]  # missing
        if kind != "file":
            yield base + [(name, rng.choice(values_for(kind)))]  # duplicated, second bad
    yield all_bad(form, rng)
    yield []


def all_bad(form: PageForm, rng: random.Random) -> list:
    """Every field of the form bad at once."""
    kinds = {f.name: f.kind for f in form.fields}
    return [(k, rng.choice(FILES) if kinds.get(k) == "file" else rng.choice(values_for(
        kinds.get(k, "hidden")))) for k in dict.fromkeys(k for k, _ in form.baseline())]


def fuzz_forms(prober: Prober, app, forms, rng: random.Random) -> None:
    """Each form, mutated, as the role it was shown to; as rendered by every other role, all
    bad by three of them; then as rendered, where a form the answer shows (an import's
    preview, say) is fuzzed in turn. A file is uploaded as the biggest spreadsheet the app
    itself served (export → import)."""
    upload = prober.download or FILES[-2]
    queue = list(forms.values())
    while queue:
        role, form = queue.pop(0)
        for pairs in mutations(form, rng, upload):
            prober.send(role, "POST", form.action, pairs, files=form.multipart)
        others = [other for other in ROLES if other != role]
        for other in others:
            prober.send(other, "POST", form.action, form.baseline(upload), files=form.multipart)
        for other in rng.sample(others, 3):
            prober.send(other, "POST", form.action, all_bad(form, rng), files=form.multipart)
        response = prober.send(role, "POST", form.action, form.baseline(upload),
                               files=form.multipart)
        if response is not None and response.status_code == 200 and \
                "html" in response.content_type:
            for key, found in post_forms(app, form.action, response).items():
                if key not in forms:
                    forms[key] = (role, found)
                    queue.append((role, found))


def fuzz_posts_without_forms(prober: Prober, app, samples, forms, rng) -> None:
    """POST routes no page showed a form for (buttons of one role, say) still get garbage."""
    with_forms = {endpoint for endpoint, _ in forms}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in with_forms | {"auth.logout"}:
            continue
        for url in samples[rule.endpoint][:2]:
            for role in ROLES:
                prober.send(role, "POST", url, [("x", rng.choice(TEXT)), ("id", rng.choice(IDS))])


def fuzz_paths(prober: Prober, app, samples, rng) -> None:
    """Every converter of every route, the other segments as in a real URL: out-of-range and
    malformed values."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.arguments:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        real = {k: quote(str(v), safe="") for k, v in adapter.match(
            path_of(samples[rule.endpoint][0]), method=method)[1].items()}
        for name in sorted(rule.arguments):
            numeric = isinstance(rule._converters[name], IntegerConverter)
            for bad in INT_PATH if numeric else STRING_PATH:
                values = {**real, name: bad}
                url = re.sub(r"<(?:[^>]*:)?(\w+)>", lambda m, v=values: v[m.group(1)], rule.rule)
                prober.send(rng.choice(ROLES[1:]), method, url)


def fuzz_queries(prober: Prober, app, samples, params, rng) -> None:
    """Every GET route with each query name it uses (and every name the code reads) bad and
    duplicated, as a role that can open it."""
    everywhere = declared_query_names() | {"page"}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.logout"):
            continue
        own = params.get(rule.endpoint, set())
        for url in samples[rule.endpoint][:1]:
            base = parse_qsl(urlsplit(url).query, keep_blank_values=True)
            for name in sorted(own | everywhere):
                role = rng.choice(ROLES[1:])
                if name not in own:  # read somewhere in the code: once, bad and duplicated
                    bad = rng.choice(NUMBERS[3:8] + TEXT[:6])
                    prober.send(role, "GET", url, base + [(name, bad), (name, "1")], query=True)
                    continue
                pool = NUMBERS + CHOICES + TEXT
                for bad in rng.sample(pool, BUDGET + 2):
                    prober.send(role, "GET", url, base + [(name, bad)], query=True)
                prober.send(role, "GET", url, base + [(name, "1"), (name, rng.choice(pool))],
                            query=True)


def test_no_generated_input_reaches_a_server_error_or_stores_a_refused_row(app, request):
    world = request.getfixturevalue("matrix_world")
    rng = random.Random(SEED)
    prober = Prober(app, world)
    samples = sample_urls(app, world)
    forms, params = crawl(prober, app, samples)
    assert len(forms) >= 40, f"the pages rendered only {len(forms)} forms"
    fuzz_paths(prober, app, samples, rng)
    fuzz_queries(prober, app, samples, params, rng)
    fuzz_forms(prober, app, forms, rng)
    fuzz_posts_without_forms(prober, app, samples, forms, rng)
    if os.environ.get("CAREVISITS_FUZZ_SHOW"):
        print(len(forms), sorted({e for e, _ in forms}), {k: v for k, v in params.items() if v})
    report = "\n".join(sorted(prober.failures.values()))
    assert not prober.failures, (f"{len(prober.failures)} kinds of failure in {prober.sent} "
                                 f"requests (seed {SEED}):\n{report}")

