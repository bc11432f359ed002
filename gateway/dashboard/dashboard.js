// The Sluice dashboard: plain browser JavaScript, no build step. Everything it shows comes from
// the gateway's API with the bearer token the user gave; event data (host names, paths, model
// names) is chosen by agents, so it only ever reaches the page as text, never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'sluice-token';
  const MAX_ROWS = 500;
  const ADVISED = new Set(['policy_denied', 'l7_denied', 'ssrf_denied', 'path_invalid']);
  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'onclick') node.addEventListener('click', v);
      else if (k === 'className') node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c === undefined || c === null ? '' : String(c)));
    return node;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  // A token in the fragment (#token=…) never reaches a server or a log; it moves to this tab's storage at once.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get('token'));
    history.replaceState(null, '', location.pathname + location.search);
  }

  async function api(method, path, body, contentType) {
    const headers = { authorization: `Bearer ${token()}` };
    if (body !== undefined) headers['content-type'] = contentType || 'application/json';
    const init = { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), cache: 'no-store' };
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      // A request the browser cut (its network changed, a connection reset) is sent once more when
      // sending it twice changes nothing: reads and the advisor's proposal. A write may have been
      // applied before the cut, so it is left to the user to send again.
      const resendable = method === 'GET' || path === '/v1/policy/suggest';
      if (!resendable) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
      res = await fetch(path, init);
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { text };
    }
    if (!res.ok) {
      const err = new Error(`${res.status} ${json.error || ''}: ${json.detail || json.reason || text}`);
      err.status = res.status;
      throw err;
    }
    return json;
  }

  function setConnection(text, ok) {
    const badge = $('connection');
    badge.textContent = text;
    badge.className = ok ? 'badge ok' : 'badge bad';
  }

  const time = (t) => new Date(t).toLocaleTimeString();
  const ms = (n) => (typeof n === 'number' ? String(Math.round(n)) : '');

  // ---- events: the OCSF records of /v1/events, read as a fetch stream (EventSource cannot send a token)

  /** What the dashboard needs of one OCSF record. */
  function summarise(type, id, r) {
    const u = r.unmapped || {};
    const dst = r.dst_endpoint || {};
    const req = r.http_request || {};
    const host = dst.hostname || dst.ip || (req.url && req.url.hostname) || '';
    const port = dst.port || (req.url && req.url.port);
    const denied = r.action_id === 2 || r.disposition_id === 2 || r.disposition_id === 25 || (type === 'upstream_error');
    return {
      id,
      type,
      time: r.time,
      sandbox: (r.container && r.container.name) || '',
      verdict: denied ? 'deny' : 'allow',
      code: u.code || '',
      host,
      port,
      address: dst.ip,
      method: req.http_method,
      path: req.url && req.url.path,
      what: host ? `${req.http_method ? `${req.http_method} ` : ''}${host}${port ? `:${port}` : ''}${(req.url && req.url.path) || ''}` : (r.api && r.api.operation) || r.type_name || '',
      message: r.message || '',
      fix: u.fix,
      llm: u.llm,
      duration: r.duration,
      status: r.http_response && r.http_response.code,
    };
  }

  const filters = { type: $('filter-type'), verdict: $('filter-verdict'), sandbox: $('filter-sandbox'), text: $('filter-text') };
  const events = [];

  function shown(e) {
    if (filters.type.value && e.type !== filters.type.value) return false;
    if (filters.verdict.value && e.verdict !== filters.verdict.value) return false;
    if (filters.sandbox.value && e.sandbox !== filters.sandbox.value.trim()) return false;
    const text = filters.text.value.trim().toLowerCase();
    if (text && !`${e.what} ${e.code} ${e.message}`.toLowerCase().includes(text)) return false;
    return true;
  }

  function eventRow(e) {
    return el('tr', { className: e.verdict === 'deny' ? 'deny' : '', 'data-type': e.type }, el('td', {}, time(e.time)), el('td', {}, e.type), el('td', {}, e.sandbox), el('td', {}, e.verdict), el('td', {}, e.what), el('td', {}, e.code ? `${e.code}: ${e.message}` : e.message));
  }

  function renderEvents() {
    const body = $('events').tBodies[0];
    body.replaceChildren(...events.filter(shown).slice(-MAX_ROWS).reverse().map(eventRow));
  }
  for (const f of Object.values(filters)) f.addEventListener('input', renderEvents);

  function addEvent(e) {
    events.push(e);
    if (events.length > MAX_ROWS * 4) events.splice(0, events.length - MAX_ROWS * 4);
    if (shown(e)) {
      const body = $('events').tBodies[0];
      body.prepend(eventRow(e));
      while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
    }
    if ((e.type === 'connect' || e.type === 'request') && e.verdict === 'deny') addDenial(e);
    if (e.type === 'llm_call' && e.llm) addLlmCall(e);
    if (e.type === 'sandbox') void refreshSandboxes();
    if (e.type === 'policy' && e.message) void refreshStatus();
  }

  // ---- denials and the advisor: propose → the diff → a human approves → PUT the policy

  function addDenial(e) {
    const actions = el('div', { className: 'actions' });
    const proposal = el('div', { className: 'proposal' });
    const item = el('li', { className: 'denial', 'data-code': e.code }, el('div', {}, el('strong', {}, e.code), ' ', el('span', { className: 'what' }, e.what), e.sandbox ? el('span', { className: 'sandbox' }, ` in ${e.sandbox}`) : ''), el('div', { className: 'why' }, e.message), e.fix && e.fix.summary ? el('div', { className: 'fix' }, `fix: ${e.fix.summary}`) : '', actions, proposal);
    if (ADVISED.has(e.code) && e.host && e.port) {
      actions.append(el('button', { type: 'button', className: 'propose', onclick: () => propose(e, proposal) }, 'Propose rule'));
    }
    const list = $('denials');
    list.prepend(item);
    while (list.children.length > 100) list.lastElementChild.remove();
  }

  async function propose(e, box) {
    box.replaceChildren(el('span', {}, 'proposing…'));
    const denial = { code: e.code, host: e.host, port: Number(e.port) };
    if (e.method) denial.method = e.method;
    if (e.path) denial.path = e.path;
    if (e.address) denial.address = e.address;
    try {
      const p = await api('POST', '/v1/policy/suggest', { ...(e.sandbox ? { sandbox: e.sandbox } : {}), denials: [denial] });
      if (!p.changed) {
        box.replaceChildren(el('div', { className: 'notes' }, p.notes.length ? `nothing to propose: ${p.notes.join('; ')}` : 'the policy in force already allows this'));
        return;
      }
      const diff = el('pre', { className: 'diff' });
      for (const line of p.diff.split('\n')) diff.append(el('span', { className: line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : '' }, `${line}\n`));
      const target = p.target === 'default' ? "the gateway's default policy" : `sandbox ${p.target}'s policy`;
      const result = el('div', { className: 'result' });
      const approve = el('button', { type: 'button', className: 'approve', onclick: () => apply(p, result, approve) }, `Approve: apply to ${target}`);
      box.replaceChildren(el('div', {}, p.changes.join('; ')), diff, ...(p.notes.length ? [el('div', { className: 'notes' }, p.notes.join('; '))] : []), approve, el('button', { type: 'button', onclick: () => box.replaceChildren() }, 'Discard'), result);
    } catch (err) {
      box.replaceChildren(el('span', { className: 'error' }, err.message));
    }
  }

  async function apply(p, result, button) {
    button.disabled = true;
    const path = p.target === 'default' ? '/v1/policy' : `/v1/sandboxes/${encodeURIComponent(p.target)}/policy`;
    try {
      const r = await api('PUT', path, p.yaml, 'application/yaml');
      result.replaceChildren(el('span', { className: 'applied' }, `applied${r.revision !== undefined ? ` (revision ${r.revision})` : ''}${r.persisted ? ', written to the policy file' : ''}`));
    } catch (err) {
      button.disabled = false;
      result.replaceChildren(el('span', { className: 'error' }, err.status === 403 ? 'applying needs an admin token' : err.message));
    }
  }

  // ---- LLM calls

  function addLlmCall(e) {
    const l = e.llm;
    const redactions = Object.entries(l.redactions || {});
    const body = $('llm').tBodies[0];
    body.prepend(el('tr', {}, el('td', {}, time(e.time)), el('td', {}, e.sandbox), el('td', {}, l.route || ''), el('td', {}, l.backend), el('td', {}, l.backend_model || l.requested_model || ''), el('td', { className: 'num' }, l.input_tokens ?? ''), el('td', { className: 'num' }, l.output_tokens ?? ''), el('td', { className: 'num' }, ms(l.ttft_ms)), el('td', { className: 'num' }, ms(e.duration)), el('td', {}, redactions.map(([k, n]) => `${k}×${n}`).join(' ')), el('td', {}, `${l.action}${e.status ? ` ${e.status}` : ''}`)));
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  }

  // ---- sandboxes and backends, polled and refreshed on their events

  async function refreshSandboxes() {
    try {
      const { sandboxes } = await api('GET', '/v1/sandboxes');
      $('sandboxes').tBodies[0].replaceChildren(
        ...sandboxes.map((s) => {
          const buttons = el('td', {}, el('button', { type: 'button', onclick: () => showLogs(s.name) }, 'Logs'));
          if (s.state === 'running') buttons.append(el('button', { type: 'button', className: 'stop', onclick: () => stop(s.name) }, 'Stop'));
          return el('tr', { 'data-name': s.name }, el('td', {}, s.name), el('td', {}, s.driver), el('td', {}, s.state), el('td', {}, s.command.join(' ')), buttons);
        }),
      );
    } catch (err) {
      if (err.status === 401) return signOut(err.message);
    }
  }

  async function stop(name) {
    try {
      await api('POST', `/v1/sandboxes/${encodeURIComponent(name)}/stop`);
    } catch (err) {
      alertText(err.status === 403 ? 'stopping needs an admin token' : err.message);
    }
    void refreshSandboxes();
  }

  async function showLogs(name) {
    const pre = $('sandbox-logs');
    pre.hidden = false;
    try {
      const res = await fetch(`/v1/sandboxes/${encodeURIComponent(name)}/logs?format=raw`, { headers: { authorization: `Bearer ${token()}` } });
      pre.textContent = `${name}:\n${await res.text()}`;
    } catch (err) {
      pre.textContent = err.message;
    }
  }

  function alertText(text) {
    const pre = $('sandbox-logs');
    pre.hidden = false;
    pre.textContent = text;
  }

  async function refreshStatus() {
    try {
      const s = await api('GET', '/v1/status');
      $('version').textContent = `v${s.version}`;
      const rows = [];
      for (const l of s.listeners) {
        const backends = Object.entries(l.backends);
        if (backends.length === 0) rows.push(el('tr', {}, el('td', {}, l.name), el('td', {}, '(none)'), el('td', {}), el('td', {}), el('td', {}), el('td', { className: 'num' }, l.open_tunnels)));
        for (const [name, h] of backends) {
          rows.push(el('tr', {}, el('td', {}, l.name), el('td', {}, name), el('td', { className: h.healthy ? 'ok' : 'bad' }, h.healthy ? 'healthy' : `unhealthy${h.error ? `: ${h.error}` : ''}`), el('td', {}, (h.models || []).join(', ')), el('td', {}, h.checked_at ? time(Date.parse(h.checked_at)) : ''), el('td', { className: 'num' }, l.open_tunnels)));
        }
      }
      $('backends').tBodies[0].replaceChildren(...rows);
    } catch (err) {
      if (err.status === 401) signOut(err.message);
    }
  }

  async function follow(signal) {
    let last;
    for (;;) {
      try {
        const res = await fetch(`/v1/events${last === undefined ? '?since=0' : `?since=${last}`}`, { headers: { authorization: `Bearer ${token()}` }, signal, cache: 'no-store' });
        if (res.status === 401) return signOut('the token was refused');
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        setConnection('live', true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = {};
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':');
              if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
            }
            if (fields.id === undefined || fields.data === undefined) continue;
            last = Number(fields.id);
            try {
              addEvent(summarise(fields.event, last, JSON.parse(fields.data)));
            } catch (err) {
              console.warn('sluice dashboard: unreadable event', err);
            }
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        setConnection(`reconnecting (${err.message})`, false);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  let running;
  function signOut(reason) {
    if (running) running.abort();
    running = undefined;
    sessionStorage.removeItem(TOKEN_KEY);
    $('main').hidden = true;
    $('forget').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = reason || '';
    setConnection('not connected', false);
  }

  async function start() {
    if (!token()) return signOut('');
    try {
      await api('GET', '/v1/version');
    } catch (err) {
      return signOut(err.status === 401 ? 'that token is not valid' : err.message);
    }
    $('login').hidden = true;
    $('main').hidden = false;
    $('forget').hidden = false;
    running = new AbortController();
    void follow(running.signal);
    void refreshSandboxes();
    void refreshStatus();
    const poll = setInterval(() => {
      if (!running) return clearInterval(poll);
      void refreshSandboxes();
      void refreshStatus();
    }, 5000);
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    void start();
  });
  $('forget').addEventListener('click', () => signOut(''));
  void start();
})();
