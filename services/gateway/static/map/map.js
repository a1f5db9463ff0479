// The territory map: MapLibre GL JS over the assignment service's vector tiles, coloured by
// owner or by a metric of the metrics service (joined in the browser by territory id through
// feature-state), with KPIs on click, lead previews, scenario comparison and a rep's social
// reach. Every call goes through the gateway with the key kept in sessionStorage.
'use strict';

(function () {
  const KEY_STORAGE = 'territory-map.api-key';
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
    '#ff9da7', '#9c755f', '#bab0ac', '#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
    '#e377c2', '#17becf', '#bcbd22'];
  const NO_VALUE = '#d9d9d9';
  const METRICS = {
    revenue: { label: 'Revenue', colours: ['#f7fbff', '#6baed6', '#08306b'] },
    attainment: { label: 'Attainment', colours: ['#d73027', '#ffffbf', '#1a9850'] },
    potential: { label: 'Potential', colours: ['#fff5eb', '#fd8d3c', '#7f2704'] },
    balance: { label: 'Accounts vs the mean', colours: ['#2166ac', '#f7f7f7', '#b2182b'] },
  };

  const state = {
    key: sessionStorage.getItem(KEY_STORAGE),
    map: null,
    alignmentId: null,
    reps: [],
    repColours: new Map(),
    colourBy: 'owner',
    metricIds: [],
    selectedTerritory: null,
    reachAccounts: [],
    leadMarker: null,
    lastKpis: null,
    lastPreview: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---- calls through the gateway ------------------------------------------------------------
  async function api(path, options = {}) {
    const headers = { 'X-API-Key': state.key, Accept: 'application/json' };
    const init = { method: options.method || 'GET', headers };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    const type = response.headers.get('content-type') || '';
    const body = type.includes('json') ? await response.json() : await response.text();
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : response.statusText;
      const error = new Error(`${response.status}: ${detail}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function allPages(path) {
    const items = [];
    const separator = path.includes('?') ? '&' : '?';
    for (let offset = 0; offset !== null;) {
      const page = await api(`${path}${separator}limit=1000&offset=${offset}`);
      items.push(...page.items);
      offset = page.next_offset;
    }
    return items;
  }

  function status(text, isError = false) {
    const element = $('status');
    element.textContent = text;
    element.className = isError ? 'status error' : 'status';
  }

  function escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    })[c]);
  }

  function formatNumber(value, digits = 0) {
    if (value === null || value === undefined) return '—';
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  }

  function formatKpi(kpi, kind) {
    if (!kpi || kpi.value === null || kpi.value === undefined) {
      return `<span class="muted">${escapeHtml(kpi && kpi.reason ? kpi.reason : '—')}</span>`;
    }
    if (kind === 'percent') return `${formatNumber(kpi.value * 100, 1)}%`;
    return formatNumber(kpi.value, kind === 'decimal' ? 2 : 0);
  }

  function periodQuery() {
    const period = $('period').value.trim();
    return period ? `&period=${encodeURIComponent(period)}` : '';
  }

  // ---- the key ------------------------------------------------------------------------------
  function askForKey(message = '') {
    $('app').hidden = true;
    $('key-form').hidden = false;
    $('key-error').textContent = message;
    $('key-input').focus();
  }

  $('key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    state.key = $('key-input').value.trim();
    try {
      await api('/assignment/alignments?limit=1');
    } catch (error) {
      askForKey(error.status === 401 ? 'This key is not valid (unknown, revoked or expired).'
        : `The gateway refused it: ${error.message}`);
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, state.key);
    start();
  });

  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    window.location.reload();
  });

  // ---- the map ------------------------------------------------------------------------------
  function ownerColour() {
    const pairs = [...state.repColours].flat();
    if (pairs.length === 0) return NO_VALUE;
    return ['match', ['coalesce', ['get', 'owner_rep_id'], ''], ...pairs, NO_VALUE];
  }

  function repColour() {
    const pairs = [...state.repColours].flat();
    return pairs.length ? ['match', ['get', 'rep_id'], ...pairs, '#555'] : '#555';
  }

  function metricColour(low, high) {
    const colours = METRICS[state.colourBy].colours;
    const middle = state.colourBy === 'balance' ? 0 : (low + high) / 2;
    const lo = Math.min(low, middle - 1e-9);
    const hi = Math.max(high, middle + 1e-9);
    return ['case',
      ['==', ['typeof', ['feature-state', 'metric']], 'number'],
      ['interpolate', ['linear'], ['feature-state', 'metric'], lo, colours[0], middle, colours[1],
        hi, colours[2]],
      NO_VALUE];
  }

  function levelFilter() {
    const level = $('level').value;
    return level === '' ? null : ['==', ['get', 'level'], Number(level)];
  }

  function tileStyle(tilejson) {
    return {
      version: 8,
      sources: {
        tiles: {
          type: 'vector',
          // Relative to the gateway; joined as text, since URL() would escape the {z} braces.
          tiles: tilejson.tiles.map((template) => (template.startsWith('/')
            ? window.location.origin + template : template)),
          minzoom: tilejson.minzoom,
          maxzoom: tilejson.maxzoom,
          promoteId: { territories: 'territory_id', accounts: 'account_id', reps: 'rep_id' },
        },
        scenario: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        moves: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } },
        {
          id: 'territories-fill', type: 'fill', source: 'tiles', 'source-layer': 'territories',
          paint: {
            'fill-color': ownerColour(),
            'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.9, 0.6],
          },
        },
        {
          id: 'territories-line', type: 'line', source: 'tiles', 'source-layer': 'territories',
          paint: {
            'line-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#000', '#555'],
            'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 2.5, 0.6],
          },
        },
        {
          id: 'moves-fill', type: 'fill', source: 'moves',
          paint: { 'fill-color': '#ff7f0e', 'fill-opacity': 0.55 },
        },
        {
          id: 'moves-line', type: 'line', source: 'moves',
          paint: { 'line-color': '#a04000', 'line-width': 2 },
        },
        {
          id: 'scenario-line', type: 'line', source: 'scenario',
          paint: { 'line-color': '#222', 'line-width': 1.5, 'line-dasharray': [3, 2] },
        },
        {
          id: 'accounts', type: 'circle', source: 'tiles', 'source-layer': 'accounts',
          paint: {
            'circle-radius': ['case', ['==', ['typeof', ['feature-state', 'reach']], 'number'],
              6, 2.5],
            'circle-color': ['case', ['==', ['typeof', ['feature-state', 'reach']], 'number'],
              '#d62728', '#333'],
            'circle-stroke-color': '#fff',
            'circle-stroke-width': 0.5,
          },
        },
        {
          id: 'reps', type: 'circle', source: 'tiles', 'source-layer': 'reps',
          paint: {
            'circle-radius': 6,
            'circle-color': repColour(),
            'circle-stroke-color': '#000',
            'circle-stroke-width': 1.5,
          },
        },
      ],
    };
  }

  async function loadAlignment(alignmentId) {
    const tilejson = await api(
      `/assignment/tiles.json${alignmentId ? `?alignment_id=${alignmentId}` : ''}`);
    state.alignmentId = tilejson.alignment_id;
    const style = tileStyle(tilejson);
    if (!state.map) {
      state.map = new maplibregl.Map({
        container: 'map',
        style,
        bounds: tilejson.bounds || [-125, 24, -66, 50],
        fitBoundsOptions: { padding: 20 },
        attributionControl: false,
        // Tiles carry the key: MapLibre fetches them with this header (never in the URL).
        transformRequest: (url) => (url.startsWith(window.location.origin)
          ? { url, headers: { 'X-API-Key': state.key } } : { url }),
      });
      state.map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
      state.map.on('click', onMapClick);
      state.map.on('mousemove', 'territories-fill', () => {
        state.map.getCanvas().style.cursor = 'pointer';
      });
      state.map.on('error', (event) => status(`Map: ${event.error && event.error.message}`, true));
      await new Promise((resolve) => state.map.once('load', resolve));
    } else {
      state.map.setStyle(style);
      await new Promise((resolve) => state.map.once('styledata', resolve));
      if (tilejson.bounds) state.map.fitBounds(tilejson.bounds, { padding: 20, duration: 0 });
    }
    state.selectedTerritory = null;
    applyLayerOptions();
    await applyColouring();
  }

  function applyLayerOptions() {
    const map = state.map;
    map.setFilter('territories-fill', levelFilter());
    map.setFilter('territories-line', levelFilter());
    map.setLayoutProperty('accounts', 'visibility', $('show-accounts').checked ? 'visible' : 'none');
    map.setLayoutProperty('reps', 'visibility', $('show-reps').checked ? 'visible' : 'none');
  }

  // ---- colouring by a metric (feature-state, by territory id) --------------------------------
  async function metricValues() {
    const alignment = `alignment_id=${state.alignmentId}`;
    if (state.colourBy === 'revenue' || state.colourBy === 'attainment') {
      const board = await api(`/metrics/leaderboard?by=territory&order_by=${state.colourBy}`
        + `&${alignment}&limit=10000${periodQuery()}`);
      return board.rows.map((row) => [row.subject_id, row[state.colourBy]]);
    }
    const health = await api(`/metrics/territory-health?${alignment}${periodQuery()}`);
    if (state.colourBy === 'potential') {
      return health.territories.map((row) => [row.territory_id, row.potential]);
    }
    const mean = health.balance.accounts && health.balance.accounts.mean;
    return health.territories.map((row) => [row.territory_id,
      mean ? row.accounts / mean - 1 : null]);
  }

  function clearMetricState() {
    for (const id of state.metricIds) {
      state.map.setFeatureState({ source: 'tiles', sourceLayer: 'territories', id },
        { metric: null });
    }
    state.metricIds = [];
  }

  function showLegend(low, high) {
    if (state.colourBy === 'owner') {
      $('legend').innerHTML = state.reps.filter((rep) => state.repColours.has(rep.id))
        .slice(0, 24).map((rep) => `<span style="color:${state.repColours.get(rep.id)}">■</span> `
          + `${escapeHtml(rep.name)}`).join(' · ');
      return;
    }
    const metric = METRICS[state.colourBy];
    const label = (value) => (state.colourBy === 'attainment' || state.colourBy === 'balance'
      ? `${formatNumber(value * 100, 0)}%` : formatNumber(value));
    $('legend').innerHTML = `${escapeHtml(metric.label)}
      <div class="bar" style="background: linear-gradient(to right, ${metric.colours.join(',')})">
      </div><div class="ends"><span>${label(low)}</span><span>${label(high)}</span></div>`;
  }

  async function applyColouring() {
    const map = state.map;
    clearMetricState();
    if (state.colourBy === 'owner') {
      map.setPaintProperty('territories-fill', 'fill-color', ownerColour());
      showLegend();
      return;
    }
    status(`Loading ${METRICS[state.colourBy].label.toLowerCase()}…`);
    let values;
    try {
      values = (await metricValues()).filter(([, value]) => value !== null && value !== undefined);
    } catch (error) {
      status(`Metrics: ${error.message}`, true);
      return;
    }
    for (const [id, value] of values) {
      map.setFeatureState({ source: 'tiles', sourceLayer: 'territories', id }, { metric: value });
      state.metricIds.push(id);
    }
    const numbers = values.map(([, value]) => value);
    let low = numbers.length ? Math.min(...numbers) : 0;
    let high = numbers.length ? Math.max(...numbers) : 1;
    if (state.colourBy === 'balance') {
      const bound = Math.max(Math.abs(low), Math.abs(high), 0.05);
      low = -bound;
      high = bound;
    }
    map.setPaintProperty('territories-fill', 'fill-color', metricColour(low, high));
    showLegend(low, high);
    status(`${values.length} territories coloured by ${METRICS[state.colourBy].label.toLowerCase()}`);
  }

  // ---- clicks -------------------------------------------------------------------------------
  function onMapClick(event) {
    const mode = document.querySelector('input[name=mode]:checked').value;
    if (mode === 'lead') {
      previewLead(event.lngLat);
    } else {
      showTerritory(event.point);
    }
  }

  function deepestTerritory(point) {
    const features = state.map.queryRenderedFeatures(point, { layers: ['territories-fill'] });
    if (features.length === 0) return null;
    return features.reduce((best, feature) => (
      (feature.properties.level ?? 0) > (best.properties.level ?? 0) ? feature : best));
  }

  function select(territoryId) {
    const target = (id) => ({ source: 'tiles', sourceLayer: 'territories', id });
    if (state.selectedTerritory) {
      state.map.setFeatureState(target(state.selectedTerritory), { selected: false });
    }
    state.selectedTerritory = territoryId;
    if (territoryId) state.map.setFeatureState(target(territoryId), { selected: true });
  }

  async function showTerritory(point) {
    const feature = deepestTerritory(point);
    if (!feature) {
      select(null);
      $('info').innerHTML = '<p class="muted">No territory here.</p>';
      return;
    }
    const props = feature.properties;
    select(props.territory_id);
    $('info').innerHTML = `<h2>${escapeHtml(props.name)}</h2>
      <p>Owner: ${escapeHtml(props.owner_name || 'none')} · level ${props.level}</p>
      <p class="muted">Loading KPIs…</p>`;
    const [kpis, territory] = await Promise.allSettled([
      api(`/metrics/kpis?territory_id=${props.territory_id}${periodQuery()}`),
      api(`/assignment/territories/${props.territory_id}.geojson?simplify_m=1000`),
    ]);
    if (state.selectedTerritory !== props.territory_id) return; // another click came first
    let html = `<h2>${escapeHtml(props.name)}</h2>`;
    if (territory.status === 'fulfilled') {
      const t = territory.value.properties;
      const owners = t.owners.map((o) => escapeHtml(o.name)).join(', ') || 'none';
      html += `<p>Owners: ${owners} · level ${t.level} · ${formatNumber(t.area_km2)} km²</p>`;
    }
    if (kpis.status === 'fulfilled') {
      const k = kpis.value;
      state.lastKpis = k;
      html += `<p class="muted">${escapeHtml(k.period.label)} (${escapeHtml(k.period.currency)})</p>
        <table class="kpis">
        <tr><td>Revenue</td><td data-kpi="revenue">${formatKpi(k.revenue)}</td></tr>
        <tr><td>Quota</td><td>${formatKpi(k.quota)}</td></tr>
        <tr><td>Attainment</td><td data-kpi="attainment">${formatKpi(k.attainment, 'percent')}</td></tr>
        <tr><td>Growth vs previous</td><td>${formatKpi(k.growth_vs_previous, 'percent')}</td></tr>
        <tr><td>Win rate</td><td>${formatKpi(k.win_rate, 'percent')}</td></tr>
        <tr><td>Average deal</td><td>${formatKpi(k.average_deal_size)}</td></tr>
        <tr><td>Open pipeline</td><td>${formatKpi(k.open_pipeline)}</td></tr>
        <tr><td>Pipeline coverage</td><td>${formatKpi(k.pipeline_coverage, 'decimal')}</td></tr>
        <tr><td>Accounts</td><td>${formatNumber(k.accounts)}</td></tr>
        <tr><td>Reps</td><td>${formatNumber(k.reps)}</td></tr>
        <tr><td>Capacity used</td><td>${formatKpi(k.capacity_used, 'percent')}</td></tr>
        </table>`;
    } else {
      html += `<p class="error">KPIs: ${escapeHtml(kpis.reason.message)}</p>`;
    }
    $('info').innerHTML = html;
  }

  async function previewLead(lngLat) {
    if (state.leadMarker) state.leadMarker.remove();
    const element = document.createElement('div');
    element.className = 'lead-marker';
    state.leadMarker = new maplibregl.Marker({ element }).setLngLat(lngLat).addTo(state.map);
    $('info').innerHTML = '<p class="muted">Asking where a lead here would go…</p>';
    try {
      const preview = await api(`/assignment/leads:preview?alignment_id=${state.alignmentId}`, {
        method: 'POST',
        body: { latitude: lngLat.lat, longitude: lngLat.lng },
      });
      state.lastPreview = preview;
      const steps = preview.explanation.map((step) => `<li><b>${escapeHtml(step.step)}</b> `
        + `(${escapeHtml(step.outcome)}): ${escapeHtml(step.detail)}</li>`).join('');
      $('info').innerHTML = `<h2>A lead here would go to</h2>
        <p data-preview="territory">Territory: <b>${escapeHtml(preview.territory
          ? preview.territory.name : 'none')}</b></p>
        <p data-preview="rep">Rep: <b>${escapeHtml(preview.rep ? preview.rep.name
          : 'nobody (queued)')}</b></p>
        <p>Rule: ${escapeHtml(preview.matched_rule)}${preview.distribution_rule
          ? `, then ${escapeHtml(preview.distribution_rule)}` : ''}</p>
        <ol class="explanation">${steps}</ol>
        <p class="muted">A preview: nothing was assigned, no turn was taken.</p>`;
    } catch (error) {
      $('info').innerHTML = `<p class="error">Lead preview: ${escapeHtml(error.message)}</p>`;
    }
  }

  // ---- scenarios ----------------------------------------------------------------------------
  async function loadScenarioList() {
    try {
      const page = await api('/planning/scenarios?limit=100');
      const items = Array.isArray(page) ? page : page.items || [];
      $('scenario-list').innerHTML = items.map((s) => `<option value="${escapeHtml(s.id)}">`
        + `${escapeHtml(s.name)} (${escapeHtml(s.status)})</option>`).join('');
    } catch (error) {
      // No list endpoint (or no planning service): ids are typed in.
    }
  }

  async function showScenario() {
    const scenarioId = $('scenario').value.trim();
    const otherId = $('scenario-other').value.trim();
    if (!scenarioId) return;
    const empty = { type: 'FeatureCollection', features: [] };
    try {
      const scenario = await api(`/planning/scenarios/${encodeURIComponent(scenarioId)}`);
      if (!scenario.result) throw new Error(`the scenario is ${scenario.status}: no plan yet`);
      state.map.getSource('scenario').setData(scenario.result.geojson || empty);
      let html = `<h2>Scenario ${escapeHtml(scenario.name)}</h2>
        <p>Its territories are drawn dashed over the alignment's colours.</p>
        <p>Units moved from the current alignment: ${formatNumber(scenario.result.moved_units)}</p>`;
      const moves = scenario.result.moves || [];
      if (moves.length) {
        html += `<ol>${moves.slice(0, 20).map((move) => `<li>${escapeHtml(move.unit)}: `
          + `${escapeHtml(move.from)} → ${escapeHtml(move.to)}</li>`).join('')}</ol>`
          + (moves.length > 20 ? `<p class="muted">and ${moves.length - 20} more</p>` : '');
      }
      state.map.getSource('moves').setData(empty);
      if (otherId) {
        const comparison = await api(`/planning/scenarios/${encodeURIComponent(scenarioId)}`
          + `/compare/${encodeURIComponent(otherId)}`);
        state.map.getSource('moves').setData(comparison.difference);
        html += `<p data-compare="moved"><b>${formatNumber(comparison.units_moved)}</b> units move
          between the two (highlighted in orange).</p>`;
      }
      $('info').innerHTML = html;
    } catch (error) {
      $('info').innerHTML = `<p class="error">Scenario: ${escapeHtml(error.message)}</p>`;
    }
  }

  function clearScenario() {
    const empty = { type: 'FeatureCollection', features: [] };
    state.map.getSource('scenario').setData(empty);
    state.map.getSource('moves').setData(empty);
  }

  // ---- a rep's social reach -----------------------------------------------------------------
  async function showReach(repId) {
    for (const id of state.reachAccounts) {
      state.map.setFeatureState({ source: 'tiles', sourceLayer: 'accounts', id }, { reach: null });
    }
    state.reachAccounts = [];
    if (!repId) return;
    const rep = state.reps.find((r) => r.id === repId);
    try {
      const reach = await api(`/proximity/reps/${repId}/accounts?limit=50`);
      const names = new Map();
      for (const f of state.map.querySourceFeatures('tiles', { sourceLayer: 'accounts' })) {
        names.set(f.properties.account_id, f.properties.name);
      }
      for (const account of reach.accounts) {
        state.map.setFeatureState({ source: 'tiles', sourceLayer: 'accounts', id: account.account_id },
          { reach: account.score });
        state.reachAccounts.push(account.account_id);
      }
      const rows = reach.accounts.map((a) => `<tr><td>${escapeHtml(names.get(a.account_id)
        || a.account_id.slice(0, 8))}</td><td>${formatNumber(a.score, 3)}</td></tr>`).join('');
      $('info').innerHTML = `<h2>${escapeHtml(rep ? rep.name : repId)}: social reach</h2>
        <p>${reach.accounts.length} accounts reached (red at zoom ≥ 8), warmest first.</p>
        <table>${rows}</table>`;
      if (rep && rep.home) state.map.flyTo({ center: rep.home.coordinates, zoom: 8 });
    } catch (error) {
      $('info').innerHTML = `<p class="error">Social reach: ${escapeHtml(error.message)}</p>`;
    }
  }

  // ---- start --------------------------------------------------------------------------------
  async function start() {
    $('key-form').hidden = true;
    $('app').hidden = false;
    status('Loading…');
    let alignments;
    try {
      [alignments, state.reps] = await Promise.all([
        allPages('/assignment/alignments'),
        allPages('/assignment/reps'),
      ]);
    } catch (error) {
      if (error.status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        askForKey('The saved key no longer works: enter another.');
        return;
      }
      status(error.message, true);
      return;
    }
    state.reps.sort((a, b) => a.name.localeCompare(b.name));
    state.reps.forEach((rep, index) => state.repColours.set(rep.id, PALETTE[index % PALETTE.length]));
    $('reach-rep').innerHTML = '<option value="">—</option>' + state.reps.map(
      (rep) => `<option value="${escapeHtml(rep.id)}">${escapeHtml(rep.name)}</option>`).join('');
    alignments.sort((a, b) => (a.status === 'active' ? -1 : b.status === 'active' ? 1 : 0));
    $('alignment').innerHTML = alignments.map((a) => `<option value="${escapeHtml(a.id)}">`
      + `${escapeHtml(a.name)} (${escapeHtml(a.status)}, ${a.territory_count})</option>`).join('');
    if (alignments.length === 0) {
      status('This tenant has no alignment yet: nothing to draw.', true);
      return;
    }
    const maxLevel = 6;
    $('level').innerHTML = '<option value="">All</option>' + Array.from({ length: maxLevel },
      (_, level) => `<option value="${level}">${level}</option>`).join('');
    try {
      await loadAlignment(alignments[0].id);
    } catch (error) {
      status(error.message, true);
      return;
    }
    loadScenarioList();
    status('Ready. Click a territory for its KPIs.');
    document.body.dataset.ready = 'true';
  }

  $('alignment').addEventListener('change', (event) => loadAlignment(event.target.value)
    .catch((error) => status(error.message, true)));
  $('colour-by').addEventListener('change', (event) => {
    state.colourBy = event.target.value;
    applyColouring();
  });
  $('period').addEventListener('change', () => applyColouring());
  $('level').addEventListener('change', applyLayerOptions);
  $('show-accounts').addEventListener('change', applyLayerOptions);
  $('show-reps').addEventListener('change', applyLayerOptions);
  $('scenario-show').addEventListener('click', showScenario);
  $('scenario-clear').addEventListener('click', clearScenario);
  $('reach-rep').addEventListener('change', (event) => showReach(event.target.value));

  // For people debugging in the console, and for the browser test.
  window.territoryMap = {
    state,
    renderedTerritories: () => (state.map
      ? state.map.queryRenderedFeatures({ layers: ['territories-fill'] }).length : 0),
  };

  // The KPIs need a period: this (calendar) year's fiscal year unless the user picks another.
  $('period').value = String(new Date().getFullYear());
  if (state.key) start(); else askForKey();
}());
