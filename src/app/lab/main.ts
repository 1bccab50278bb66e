import { mount } from 'svelte';
import Lab from './Lab.svelte';
import { LabSession } from './lab.svelte.ts';
import '../app.css';

const target = document.getElementById('lab');
if (!target) throw new Error('lab.html lacks #lab');
const session = new LabSession();
mount(Lab, { target, props: { session } });
const ready = session.start(new URLSearchParams(location.search));
(window as unknown as { __lab: unknown }).__lab = { ready, ...session.handle() };
addEventListener('pagehide', () => void session.stop());
