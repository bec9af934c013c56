// The /ops page: a minimal graphql-transport-ws client subscribing to `opsMetrics`, rendering the
// figures as tables. The token comes from the sign-in form or the URL fragment (#token=...&interval=5):
// a fragment never reaches a server or its logs, and it is removed from the address bar once read.
// Every value is written with textContent, never as HTML.
'use strict';

(function () {
  const QUERY = `subscription Ops($interval: Int!) {
    opsMetrics(intervalSeconds: $interval) {
      at processes requestRate errorRate errorStatus degraded
      classes { operationClass count errors p50 p95 p99 targetP95 status }
      queues { name depth target alert status }
      cache { dataType hits misses hitRate target status }
      pool { inUse size utilization status }
    }
  }`;
  const LOGIN = `mutation Login($email: String!, $password: String!) {
    authLogin(input: {email: $email, password: $password}) { accessToken }
  }`;
  // Closed by the server for a bad token (4401) or a refusal (4403): reconnecting would not help.
  const FINAL_CLOSE_CODES = new Set([4401, 4403, 1008]);
  const $ = (id) => document.getElementById(id);

  function setConnection(text, status) {
    const el = $('connection');
    el.textContent = text;
    el.className = 'status-' + status;
  }

  function showMessage(text) {
    const el = $('message');
    el.textContent = text;
    el.hidden = !text;
  }

  function errorText(errors) {
    const list = Array.isArray(errors) ? errors : [errors];
    return list
      .map((e) => ((e.extensions && e.extensions.code) || 'ERROR') + ': ' + e.message)
      .join('; ');
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? '–' : Number(value).toFixed(digits);
  }

  function percent(value) {
    return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + '%';
  }

  function cell(row, text, status) {
    const td = document.createElement('td');
    td.textContent = String(text);
    if (status) td.className = 'status-' + status;
    row.appendChild(td);
    return td;
  }

  function fillTable(id, items, key, cells) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    for (const item of items) {
      const row = document.createElement('tr');
      row.id = id + '-' + item[key];
      row.dataset.status = item.status;
      cells(row, item);
      body.appendChild(row);
    }
  }

  function render(m) {
    document.body.dataset.state = 'live';
    $('figures').hidden = false;
    $('at').textContent = m.at;
    $('processes').textContent = String(m.processes);
    $('request-rate').textContent = fixed(m.requestRate, 2);
    const errorRate = $('error-rate');
    errorRate.textContent = percent(m.errorRate);
    errorRate.className = 'status-' + m.errorStatus;
    const pool = $('pool');
    pool.textContent = m.pool.inUse + ' / ' + m.pool.size + ' (' + percent(m.pool.utilization) + ')';
    pool.className = 'status-' + m.pool.status;
    const degraded = $('degraded');
    degraded.textContent = m.degraded ? 'unavailable: this process only' : 'all processes';
    degraded.className = m.degraded ? 'status-warning' : 'status-ok';
    fillTable('classes', m.classes, 'operationClass', (row, c) => {
      row.dataset.count = String(c.count);
      cell(row, c.operationClass);
      cell(row, c.count);
      cell(row, c.errors);
      cell(row, fixed(c.p50, 1));
      cell(row, fixed(c.p95, 1), c.status);
      cell(row, fixed(c.p99, 1));
      cell(row, fixed(c.targetP95, 0));
      cell(row, c.status, c.status);
    });
    fillTable('queues', m.queues, 'name', (row, q) => {
      cell(row, q.name);
      cell(row, q.depth === null ? '–' : q.depth, q.status);
      cell(row, q.target);
      cell(row, q.alert);
      cell(row, q.status, q.status);
    });
    fillTable('cache', m.cache, 'dataType', (row, c) => {
      cell(row, c.dataType);
      cell(row, c.hits);
      cell(row, c.misses);
      cell(row, percent(c.hitRate), c.status);
      cell(row, percent(c.target));
      cell(row, c.status, c.status);
    });
  }

  function subscribe(token, interval) {
    const url = location.origin.replace(/^http/, 'ws') + '/graphql';
    const ws = new WebSocket(url, 'graphql-transport-ws');
    let ended = false;
    setConnection('connecting', 'no_data');
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer ' + token } }));
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case 'connection_ack':
          setConnection('live', 'ok');
          ws.send(JSON.stringify({
            id: 'ops', type: 'subscribe',
            payload: { query: QUERY, operationName: 'Ops', variables: { interval: interval } },
          }));
          break;
        case 'ping':
          ws.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          if (message.payload.errors) showMessage(errorText(message.payload.errors));
          if (message.payload.data) {
            showMessage('');
            render(message.payload.data.opsMetrics);
          }
          break;
        case 'error':
          ended = true;
          document.body.dataset.state = 'refused';
          showMessage(errorText(message.payload));
          ws.close(1000);
          break;
        case 'complete':
          ended = true;
          document.body.dataset.state = 'ended';
          ws.close(1000);
          break;
      }
    };
    ws.onclose = (event) => {
      if (FINAL_CLOSE_CODES.has(event.code)) {
        document.body.dataset.state = 'refused';
        showMessage('the server refused the connection (' + event.code + ' ' + event.reason + ')');
      }
      if (ended || FINAL_CLOSE_CODES.has(event.code)) {
        setConnection('not connected', 'critical');
        return;
      }
      // A restart or a network cut: the figures are a stream, so just subscribe again.
      setConnection('reconnecting', 'warning');
      setTimeout(() => subscribe(token, interval), 3000);
    };
  }

  async function signIn(event) {
    event.preventDefault();
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: LOGIN,
        operationName: 'Login',
        variables: { email: $('email').value, password: $('password').value },
      }),
    });
    const body = await response.json();
    if (body.errors) {
      showMessage(errorText(body.errors));
      return;
    }
    $('password').value = '';
    $('login').hidden = true;
    showMessage('');
    subscribe(body.data.authLogin.accessToken, Number($('interval').value) || 5);
  }

  function start() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get('token');
    const interval = Number(params.get('interval')) || 5;
    if (token) {
      history.replaceState(null, '', location.pathname + location.search);
      subscribe(token, interval);
      return;
    }
    $('login').hidden = false;
    $('login').addEventListener('submit', (event) => {
      signIn(event).catch((error) => showMessage(String(error)));
    });
  }

  start();
})();
