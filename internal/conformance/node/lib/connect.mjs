// Walks Smartcar Connect with plain HTTP, the way a person with a browser would, but
// without JavaScript: GET the authorize URL, follow redirects by hand (keeping cookies),
// and on each HTML page submit the form that holds the control real Connect automation
// clicks (the DOM ids of smartcar-api.md §7.3). It ends at the redirect to the app's
// redirect_uri and returns its query parameters (code or error, state, ...).
//
// HTML is read with small regular expressions on purpose: the pages are the sandbox's
// own server-rendered forms, and a parser dependency would add nothing but install time.

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Decodes the HTML character references html/template emits in attribute values. */
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|nbsp);/gi, (m, ref) => {
    const r = ref.toLowerCase();
    if (r.startsWith('#x')) return String.fromCodePoint(parseInt(r.slice(2), 16));
    if (r.startsWith('#')) return String.fromCodePoint(parseInt(r.slice(1), 10));
    return {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0'}[r];
  });
}

/** Parses the attributes of one start tag (`<input a="b" c>`) into an object. */
function parseAttrs(tag) {
  const attrs = {};
  const inner = tag.replace(/^<[a-z0-9]+/i, '').replace(/\/?>$/, '');
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  let m;
  while ((m = re.exec(inner)) !== null) {
    const value = m[2] ?? m[3] ?? m[4];
    attrs[m[1].toLowerCase()] = value === undefined ? '' : decodeEntities(value);
  }
  return attrs;
}

/** The form-associated controls of a page, in document order. */
function controls(html) {
  const out = [];
  const re = /<(input|button|select|textarea)\b[^>]*>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    const kind = m[1].toLowerCase();
    const ctl = {kind, attrs: parseAttrs(m[0]), index: m.index};
    if (kind === 'select') {
      const end = html.indexOf('</select>', m.index);
      const body = html.slice(m.index, end < 0 ? undefined : end);
      const options = [...body.matchAll(/<option\b[^>]*>([^<]*)/gi)]
        .map((o) => ({attrs: parseAttrs(o[0].replace(/>[^>]*$/, '>')), text: o[1]}));
      const chosen = options.find((o) => 'selected' in o.attrs) ?? options[0];
      ctl.value = chosen ? (chosen.attrs.value ?? decodeEntities(chosen.text.trim())) : '';
    } else if (kind === 'textarea') {
      const end = html.indexOf('</textarea>', m.index);
      ctl.value = decodeEntities(html.slice(m.index + m[0].length, end < 0 ? undefined : end));
    }
    out.push(ctl);
  }
  return out;
}

/** Every form of the page with its attributes, span and id. */
function forms(html) {
  const out = [];
  const re = /<form\b[^>]*>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    const end = html.indexOf('</form>', m.index);
    out.push({attrs: parseAttrs(m[0]), start: m.index, end: end < 0 ? html.length : end});
  }
  return out;
}

/** Parsed view of one Connect page. */
export class Page {
  constructor(url, status, html) {
    this.url = url;
    this.status = status;
    this.html = html;
    this.controls = controls(html);
    this.forms = forms(html);
  }

  /** The control whose id is `id`, or undefined. */
  byId(id) {
    return this.controls.find((c) => c.attrs.id === id);
  }

  /** Whether an element of any kind carries this id. */
  hasId(id) {
    const esc = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`\\sid\\s*=\\s*["']?${esc}["'\\s>]`).test(this.html);
  }

  /** Whether an element carries this class. */
  hasClass(cls) {
    return new RegExp(`class\\s*=\\s*["'][^"']*\\b${cls}\\b`).test(this.html);
  }

  /** The form a control belongs to (its form= attribute, else the enclosing form). */
  formOf(ctl) {
    if (ctl.attrs.form) return this.forms.find((f) => f.attrs.id === ctl.attrs.form);
    return this.forms.find((f) => f.start <= ctl.index && ctl.index < f.end);
  }

  /** Controls submitted with `form`. */
  controlsOf(form) {
    return this.controls.filter((c) => this.formOf(c) === form);
  }

  /** Visible text of the page (tags stripped), for error messages and plain-word checks. */
  text() {
    return decodeEntities(this.html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, '')
      .replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
  }
}

/**
 * Builds the submission of `form` as a browser would when `submitter` (a button or
 * submit input) is clicked. `fill` maps control ids (or names) to values to type in;
 * `check` decides whether a checkbox/radio is ticked (default: as the page says).
 */
function submission(page, form, submitter, fill = {}, check) {
  const data = new URLSearchParams();
  const own = page.controlsOf(form);
  // A person must pick one radio of a group the page left unchecked (single_select):
  // take the first, as a user clicking the top choice would.
  const radios = own.filter((c) => (c.attrs.type ?? '').toLowerCase() === 'radio' && c.attrs.name);
  const picked = new Set();
  for (const name of new Set(radios.map((c) => c.attrs.name))) {
    const group = radios.filter((c) => c.attrs.name === name);
    const chosen = group.find((c) => (check ? check(c) : 'checked' in c.attrs)) ?? group[0];
    picked.add(chosen);
  }
  for (const c of own) {
    const {name, type = c.kind === 'button' ? 'submit' : 'text'} = c.attrs;
    if (!name || 'disabled' in c.attrs) continue;
    const t = type.toLowerCase();
    if (c.kind === 'button' || ['submit', 'image', 'reset', 'button'].includes(t)) {
      if (c === submitter) data.append(name, c.attrs.value ?? '');
      continue;
    }
    if (t === 'radio') {
      if (picked.has(c)) data.append(name, c.attrs.value ?? 'on');
      continue;
    }
    if (t === 'checkbox') {
      const ticked = check ? check(c) : 'checked' in c.attrs;
      if (ticked) data.append(name, c.attrs.value ?? 'on');
      continue;
    }
    if (t === 'file') continue;
    let value = c.value ?? c.attrs.value ?? '';
    if (c.attrs.id && c.attrs.id in fill) value = fill[c.attrs.id];
    else if (name in fill) value = fill[name];
    data.append(name, value);
  }
  const method = (submitter.attrs.formmethod || form.attrs.method || 'get').toUpperCase();
  const action = new URL(submitter.attrs.formaction ?? form.attrs.action ?? '', page.url);
  return {method, action, data};
}

/** A cookie-keeping HTTP client that never follows redirects on its own. */
export class Browser {
  constructor() {
    this.cookies = new Map();
    this.history = [];
  }

  async request(url, {method = 'GET', body} = {}) {
    const headers = {'user-agent': 'smartcargo-conformance (plain HTTP, no JavaScript)'};
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {method, headers, body, redirect: 'manual'});
    // getSetCookie() exists from Node 19.7 (and late 18.x); the sandbox sets no cookie
    // today, so an older runtime only loses cookie support.
    const setCookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    this.history.push({method, url: String(url), status: res.status});
    return res;
  }
}

/** Thrown when Connect does not behave like a Connect flow (carries the page text). */
export class ConnectError extends Error {
  constructor(message, page) {
    super(page ? `${message} (at ${page.url}, HTTP ${page.status}: ${page.text().slice(0, 400)})` : message);
    this.name = 'ConnectError';
    this.page = page;
  }
}

/**
 * Runs Connect from `authUrl` to the redirect back to `redirectUri`.
 *
 * options: email (login), password, make (brand to pick if the brand list shows),
 * deny (press deny instead of approve), choose (vehicle checkbox/radio predicate on the
 * grant page; default: as the page pre-selects).
 *
 * Returns {params, location, pages, grant}: the redirect's query parameters as an
 * object, the full Location, the names of the pages walked ('preamble', 'brands',
 * 'login', 'grant'), and the grant page (for checks on its content).
 */
export async function runConnect(authUrl, redirectUri, options = {}) {
  const {email, password = 'any-password', make = 'CHEVROLET', deny = false, choose} = options;
  const browser = new Browser();
  const pages = [];
  let grant;
  let url = new URL(authUrl);
  let res = await browser.request(url);
  for (let step = 0; step < 30; step++) {
    if (REDIRECT_STATUSES.has(res.status)) {
      const loc = res.headers.get('location');
      if (!loc) throw new ConnectError(`HTTP ${res.status} without Location`);
      const next = new URL(loc, url);
      await res.arrayBuffer();
      if (next.href.startsWith(redirectUri)) {
        return {params: Object.fromEntries(next.searchParams), location: next, pages, grant, browser};
      }
      if (next.origin !== new URL(authUrl).origin) {
        throw new ConnectError(`redirected off Connect to ${next.href}`);
      }
      url = next;
      res = await browser.request(url);
      continue;
    }
    const page = new Page(url, res.status, await res.text());
    if (res.status !== 200) throw new ConnectError('Connect answered an error page', page);

    let submitter;
    let fill = {};
    let check;
    if (page.byId('approval-button') || page.byId('deny-button')) {
      pages.push('grant');
      grant = page;
      submitter = page.byId(deny ? 'deny-button' : 'approval-button');
      check = choose;
    } else if (page.byId('sign-in-button')) {
      pages.push('login');
      submitter = page.byId('sign-in-button');
      fill = {username: email, password};
    } else if (page.byId(make) || page.byId('brand-search')) {
      pages.push('brands');
      submitter = page.byId(make);
      if (!submitter) {
        // The brand is not listed as is: search for it, as Node's e2e helper does for KIA.
        const search = page.byId('brand-search');
        const form = page.formOf(search);
        if (!form) throw new ConnectError(`no button#${make} and brand search has no form`, page);
        const btn = page.controlsOf(form).find((c) => c.kind === 'button' ||
          (c.attrs.type ?? '').toLowerCase() === 'submit');
        const sub = submission(page, form, btn ?? {attrs: {}}, {'brand-search': make});
        url = sub.method === 'GET' ? withQuery(sub.action, sub.data) : sub.action;
        res = await browser.request(url, sub.method === 'GET' ? {} : {method: sub.method, body: sub.data});
        if (pages.filter((p) => p === 'brands').length > 3) {
          throw new ConnectError(`brand ${make} not found even after searching`, page);
        }
        continue;
      }
    } else if (page.byId('continue-button')) {
      pages.push('preamble');
      submitter = page.byId('continue-button');
    } else {
      throw new ConnectError('page has none of the Connect controls', page);
    }
    if (!submitter) throw new ConnectError('control to press not found', page);
    const form = page.formOf(submitter);
    if (!form) throw new ConnectError(`#${submitter.attrs.id} is not inside a form`, page);
    const sub = submission(page, form, submitter, fill, check);
    if (sub.method === 'GET') {
      url = withQuery(sub.action, sub.data);
      res = await browser.request(url);
    } else {
      url = sub.action;
      res = await browser.request(url, {method: sub.method, body: sub.data});
    }
  }
  throw new ConnectError(`Connect did not finish within 30 steps: ${JSON.stringify(browser.history)}`);
}

function withQuery(action, data) {
  const u = new URL(action);
  u.search = data.toString();
  return u;
}
