'use strict';
const $ = id => document.getElementById(id);

function duration(seconds) {
  if (seconds == null) return 'unknown';
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = Math.floor(seconds % 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s}s`;
}
const mib = bytes => bytes == null ? '?' : `${(bytes / 1048576).toFixed(0)} MiB`;

function caller(c) {
  return c.transport === 'vsock' ? `CID ${c.peerCid} port ${c.peerPort}` : `TCP ${c.remoteAddress ?? '?'}`;
}

function render(status) {
  $('hostname').textContent = status.hostname;
  $('cid').textContent = status.localCid ?? 'none';
  $('uptime').textContent = duration(status.uptimeSeconds);
  $('cpu').textContent = `${status.processorCount} CPU${status.processorCount === 1 ? '' : 's'}`;
  $('load').textContent = status.loadAverage ? `load ${status.loadAverage.map(l => l.toFixed(2)).join(' ')}` : '';
  const used = status.memoryTotalBytes - status.memoryAvailableBytes;
  $('memory').textContent = `${mib(used)}`;
  $('memory-total').textContent = `used of ${mib(status.memoryTotalBytes)}`;
  $('memory-bar').style.width = status.memoryTotalBytes ? `${(100 * used / status.memoryTotalBytes).toFixed(1)}%` : '0';
  $('requests').textContent = status.requestsServed;
  $('os').textContent = status.operatingSystem;
  $('dotnet').textContent = status.dotnetVersion;
  const rows = status.recentCallers.map(c => {
    const tr = document.createElement('tr');
    for (const text of [new Date(c.at).toLocaleTimeString(), caller(c), `${c.method} ${c.path}`, c.protocol]) {
      const td = document.createElement('td'); td.textContent = text; tr.appendChild(td);
    }
    return tr;
  });
  $('callers').replaceChildren(...rows);
  $('updated').textContent = new Date().toLocaleTimeString();
}

async function describeMe() {
  const response = await fetch('api/status');
  const body = await response.json();
  const you = body.you;
  $('connection').textContent = you.transport === 'vsock'
    ? `You reach this VM over vsock from CID ${you.peerCid} (port ${you.peerPort}), ${you.protocol}.`
    : `You reach this VM through a TCP bridge (${you.remoteAddress}), ${you.protocol}.`;
  render(body.status);
}

describeMe().catch(e => { $('connection').textContent = `cannot reach the status API: ${e}`; });
const events = new EventSource('api/events');
events.addEventListener('status', e => render(JSON.parse(e.data)));
events.onerror = () => { $('updated').textContent = 'reconnecting…'; };
