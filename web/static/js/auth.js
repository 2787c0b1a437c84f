// auth.js — log in and register forms. Server errors are shown exactly as the server words them.

import { post } from './api.js';
import { h, errorBox, field } from './ui.js';

export function render(ctx, root, { mode }) {
  const isLogin = mode === 'login';
  const err = errorBox();
  const username = h('input', { id: 'auth-username', name: 'username', autocomplete: 'username',
                                required: true, autocapitalize: 'off', spellcheck: false });
  const password = h('input', { id: 'auth-password', name: 'password', type: 'password', required: true,
                                autocomplete: isLogin ? 'current-password' : 'new-password' });
  const display = isLogin ? null : h('input', { id: 'auth-display', name: 'display_name',
                                                autocomplete: 'nickname' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'auth-submit' },
                   isLogin ? 'Log in' : 'Create account');

  const onsubmit = async (ev) => {
    ev.preventDefault();
    err.show(null);
    submit.disabled = true;
    const body = { username: username.value, password: password.value, device: 'web' };
    if (display && display.value) body.display_name = display.value;
    try {
      const reply = await post(isLogin ? '/api/v1/auth/login' : '/api/v1/auth/register', body);
      await ctx.signIn(reply);
    } catch (e) {
      err.show(e);
    } finally {
      submit.disabled = false;
    }
  };

  root.append(h('section', { class: 'card narrow', 'aria-labelledby': 'auth-title' },
    h('h1', { id: 'auth-title' }, isLogin ? 'Log in to Kamegor' : 'Create your Kamegor account'),
    h('form', { onsubmit, novalidate: true },
      field('Username', username, isLogin ? null : '3–32 letters, digits, _ . - ; starts with a letter'),
      display ? field('Display name (optional)', display) : null,
      field('Password', password, isLogin ? null : 'At least 10 characters'),
      err,
      submit),
    h('p', {}, isLogin
      ? h('a', { href: '#/register' }, 'No account yet? Register')
      : h('a', { href: '#/login' }, 'Already registered? Log in'))));
}
