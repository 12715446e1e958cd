// The admin single-page app: hash routes, the page shell and the login form.

import { activeClient, currentUser, gql, isAdmin, loadMe, login, logout, setActiveClient } from './api.js';
import { errorState, h, loading, mount } from './dom.js';
import { overviewView } from './views/overview.js';
import { sessionsView, sessionView } from './views/sessions.js';
import { identitiesView, identityView } from './views/identities.js';
import { authenticationsView, authenticationView } from './views/authentications.js';
import { weightsView } from './views/weights.js';
import { requirementsView } from './views/requirements.js';
import { webhooksView, webhookView } from './views/webhooks.js';
import { keysView } from './views/keys.js';
import { reviewQueueView, reviewCaseView } from './views/review.js';

const NAV = [
  ['#/overview', 'Overview'],
  ['#/sessions', 'Sessions'],
  ['#/review', 'Review'],
  ['#/identities', 'Identities'],
  ['#/authentications', 'Authentications'],
  ['#/weights', 'Weights'],
  ['#/requirements', 'Requirements'],
  ['#/webhooks', 'Webhooks'],
  ['#/keys', 'API keys'],
];

const ROUTES = [
  [/^\/overview$/, overviewView, 'Overview'],
  [/^\/sessions$/, sessionsView, 'Sessions'],
  [/^\/sessions\/([^/]+)$/, sessionView, 'Session'],
  [/^\/review$/, reviewQueueView, 'Review queue'],
  [/^\/review\/([^/]+)$/, reviewCaseView, 'Review case'],
  [/^\/identities$/, identitiesView, 'Identities'],
  [/^\/identities\/([^/]+)$/, identityView, 'Identity'],
  [/^\/authentications$/, authenticationsView, 'Authentications'],
  [/^\/authentications\/([^/]+)$/, authenticationView, 'Authentication'],
  [/^\/weights$/, weightsView, 'Weights'],
  [/^\/requirements$/, requirementsView, 'Requirements'],
  [/^\/webhooks$/, webhooksView, 'Webhooks'],
  [/^\/webhooks\/([^/]+)$/, webhookView, 'Webhook'],
  [/^\/keys$/, keysView, 'API keys'],
];

const app = document.getElementById('app');
let renderToken = 0;

/// `#/sessions?status=COMPLETE` → {path: '/sessions', query: URLSearchParams}
export function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/overview';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

/// Navigates to `path` with query parameters (empty values dropped).
export function go(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
  const q = qs.toString();
  location.hash = '#' + path + (q ? '?' + q : '');
}

function shell() {
  const user = currentUser();
  const navList = h(
    'ul',
    { id: 'nav-list' },
    NAV.map(([href, label]) => h('li', {}, h('a', { href, class: 'nav-link' }, label))),
  );
  const toggle = h(
    'button',
    { type: 'button', class: 'btn nav-toggle', 'aria-expanded': 'false', 'aria-controls': 'nav-list' },
    'Menu',
  );
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    navList.classList.toggle('open', open);
  });
  const logoutBtn = h('button', { type: 'button', class: 'btn btn-quiet', id: 'logout' }, 'Log out');
  logoutBtn.addEventListener('click', async () => {
    try {
      await logout();
    } finally {
      location.hash = '#/overview';
      render();
    }
  });
  const main = h('main', { id: 'main', tabindex: '-1' });
  mount(
    app,
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/overview' }, 'Tessera'),
      toggle,
      h('nav', { 'aria-label': 'Main' }, navList),
      user.is_platform ? clientSelector(user) : null,
      h(
        'div',
        { class: 'user' },
        h('span', { class: 'user-email' }, user.email),
        h('span', { class: `badge badge-role-${user.role}`, title: isAdmin() ? 'may change settings' : 'read-only' }, user.role),
        logoutBtn,
      ),
    ),
    main,
  );
  return main;
}

/// The platform operator's client selector: which tenant the lists and the
/// overview show (its own platform client by default). Detail pages open
/// any client's records the operator may read.
function clientSelector(user) {
  const select = h('select', { id: 'active-client', name: 'client' }, h('option', { value: '' }, 'Platform (own)'));
  const box = h('div', { class: 'client-select' }, h('label', { for: 'active-client' }, 'Client'), select);
  gql('{ clients { id name isPlatform } }')
    .then((data) => {
      for (const c of data.clients) {
        if (c.isPlatform && c.id === user.client_id) continue;
        select.append(h('option', { value: c.id, selected: c.id === activeClient() }, c.name));
      }
    })
    .catch(() => {
      select.disabled = true;
    });
  select.addEventListener('change', () => {
    setActiveClient(select.value || null);
    render();
  });
  return box;
}

function loginView(message) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' }, message || '');
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, 'aria-describedby': 'login-error' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'login-submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'card login-card', 'aria-labelledby': 'login-title', novalidate: true },
    h('h1', { id: 'login-title' }, 'Tessera admin'),
    h('p', { class: 'muted' }, 'Log in with your dashboard account.'),
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    error,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!email.value || !password.value) {
      error.textContent = 'Enter your email and password.';
      (email.value ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    error.textContent = '';
    try {
      await login(email.value.trim(), password.value);
      if (!location.hash.startsWith('#/')) location.hash = '#/overview';
      render();
    } catch (err) {
      error.textContent = err.status === 429 ? err.message : err.status === 401 ? 'Wrong email or password.' : err.message;
      submit.disabled = false;
      submit.textContent = 'Log in';
      password.select();
      password.focus();
    }
  });
  mount(app, h('main', { id: 'main', class: 'login-page' }, form));
  document.title = 'Log in · Tessera admin';
  email.focus();
}

async function render() {
  const token = ++renderToken;
  if (!currentUser()) {
    try {
      await loadMe();
    } catch (err) {
      mount(app, errorState(err, render));
      return;
    }
  }
  if (token !== renderToken) return;
  if (!currentUser()) {
    loginView();
    return;
  }
  const { path, query } = parseHash();
  const route = ROUTES.find(([re]) => re.test(path));
  let main = document.getElementById('main');
  if (!main || !document.querySelector('.topbar')) main = shell();
  document.querySelectorAll('.nav-link').forEach((a) => {
    const active = path === a.getAttribute('href').slice(1) || path.startsWith(a.getAttribute('href').slice(1) + '/');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  document.getElementById('nav-list')?.classList.remove('open');
  document.querySelector('.nav-toggle')?.setAttribute('aria-expanded', 'false');
  if (!route) {
    mount(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no page here. ', h('a', { href: '#/overview' }, 'Go to the overview.')));
    return;
  }
  const [re, view, title] = route;
  const params = path.match(re).slice(1).map(decodeURIComponent);
  document.title = `${title} · Tessera admin`;
  // Each render draws into its own container: a slower, superseded render
  // (the user navigated on) writes into a detached node, never over the new page.
  const target = h('div', { class: 'view' }, loading());
  mount(main, target);
  try {
    await view(target, { params, query, isAdmin: isAdmin(), stale: () => token !== renderToken });
  } catch (err) {
    if (token !== renderToken) return;
    if (!currentUser()) {
      loginView('Your session ended. Log in again.');
      return;
    }
    mount(target, errorState(err, render));
  }
  if (token === renderToken) main.focus({ preventScroll: true });
}

document.addEventListener('click', (ev) => {
  const skip = ev.target.closest('.skip-link');
  if (skip) {
    ev.preventDefault();
    document.getElementById('main')?.focus();
  }
});

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) render();
});
render();
