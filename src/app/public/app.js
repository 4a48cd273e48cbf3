// The SMART app: signs in through fhirclient (the code exchange happens here), reads the patient's data from the FHIR
// server with the app's own token, asks the adapter for the chart model of what it read, and draws the charts with
// the same option builder as the server's SVG. Everything shown comes from the FHIR server or is computed from it.
import { buildTumourBurdenOption } from '/app/lib/chart-option.ts';
import * as echarts from '/app/vendor/echarts.esm.min.mjs';

const PRIORITY = { PH: 'high', PM: 'medium', PL: 'low' };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

const codeIn = (concept, system) => concept?.coding?.find((c) => c.system === system);
const hasProfile = (resource, profile) => (resource.meta?.profile ?? []).includes(profile);

function dedupe(resources) {
  const byKey = new Map();
  for (const r of resources) byKey.set(`${r.resourceType}/${r.id}`, r);
  return [...byKey.values()];
}

function patientName(patient) {
  const name = patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return text || `Patient/${patient.id}`;
}

function showFlag(flags, observations, config, flagSearchFailed) {
  const box = $('flag');
  box.replaceChildren();
  const active = flags
    .filter((f) => f.status === 'active' && hasProfile(f, config.codes.flagProfile))
    .sort((a, b) => (b.period?.start ?? '').localeCompare(a.period?.start ?? ''));
  const flag = active[0];
  if (flag) {
    const coding = codeIn(flag.code, config.codes.irecist);
    const priorityCode = flag.extension?.find((e) => e.url === config.codes.flagPriorityExtension)?.valueCodeableConcept
      ?.coding?.[0]?.code;
    box.dataset.state = 'flag';
    box.dataset.code = coding?.code ?? '';
    if (PRIORITY[priorityCode]) box.dataset.priority = PRIORITY[priorityCode];
    box.append(
      el('div', { class: 'code', text: coding?.display ?? flag.code?.text ?? 'Flag' }),
      el('div', { class: 'since', text: `Since ${flag.period?.start?.slice(0, 10) ?? 'unknown'}` }),
      el('p', { class: 'text', text: flag.code?.text ?? '' }),
    );
    return;
  }
  // Servers without Flag: the mCODE CancerDiseaseStatus Observation is the chart signal.
  const statuses = observations
    .filter((o) => o.code?.coding?.some((c) => c.system === 'http://loinc.org' && c.code === '97509-4'))
    .sort((a, b) => (b.effectiveDateTime ?? '').localeCompare(a.effectiveDateTime ?? ''));
  const status = statuses[0];
  if (status) {
    box.dataset.state = 'disease-status';
    box.append(
      el('div', {
        class: 'code',
        // The text says the iRECIST response and status beside the trend (a bare "worsened" misreads an iUPD).
        text: `Cancer disease status: ${status.valueCodeableConcept?.text ?? status.valueCodeableConcept?.coding?.[0]?.display ?? 'recorded'}`,
      }),
      el('div', {
        class: 'since',
        text: `As of ${status.effectiveDateTime?.slice(0, 10) ?? 'unknown'}${flagSearchFailed ? ' (this server has no Flags)' : ''}`,
      }),
    );
    return;
  }
  box.dataset.state = 'none';
  box.textContent = 'No active iRECIST Flag in the chart.';
}

function showReports(reports, config) {
  const list = $('reports');
  list.replaceChildren();
  const mine = reports
    .filter((r) => hasProfile(r, config.codes.reportProfile))
    .sort((a, b) => (b.effectiveDateTime ?? '').localeCompare(a.effectiveDateTime ?? ''));
  if (mine.length === 0) list.append(el('li', { text: 'No iRECIST report yet.' }));
  for (const r of mine) {
    const [response, status] = (r.conclusionCode ?? []).map((c) => codeIn(c, config.codes.irecist));
    list.append(
      el(
        'li',
        { 'data-date': r.effectiveDateTime?.slice(0, 10) ?? '', 'data-response': response?.code ?? '' },
        el('strong', {
          text: `${r.effectiveDateTime?.slice(0, 10) ?? ''}: ${response?.display ?? response?.code ?? ''}`,
        }),
        el('span', { text: status ? ` (${status.display ?? status.code})` : '' }),
        el('p', { class: 'conclusion', text: r.conclusion ?? '' }),
      ),
    );
  }
}

function cellText(size) {
  if (!size) return '–';
  if (size.tooSmall) return `${size.mm} (too small)`;
  if (size.mm !== undefined) return String(size.mm);
  return size.state ?? '–';
}

function showLesions(model) {
  const table = $('lesion-table');
  table.replaceChildren();
  const dates = [...(model.baseline ? [model.baseline.date] : []), ...model.timepoints.map((t) => t.date)];
  const head = el('tr', {}, el('th', { text: 'Lesion' }), el('th', { text: 'Role' }));
  for (const d of dates)
    head.append(el('th', { scope: 'col', text: d === model.baseline?.date ? `${d} (baseline)` : d }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const lesion of model.lesions) {
    const row = el(
      'tr',
      { 'data-lesion': lesion.id },
      el('td', { text: lesion.id }),
      el('td', { class: 'role', text: lesion.role }),
    );
    for (const d of dates)
      row.append(el('td', { 'data-date': d, text: cellText(lesion.sizes.find((s) => s.date === d)) }));
    body.append(row);
  }
  const sum = el('tr', { class: 'sum' }, el('td', { text: 'Sum of target diameters' }), el('td'));
  const response = el('tr', { class: 'response' }, el('td', { text: 'Response' }), el('td'));
  for (const d of dates) {
    const tp = model.timepoints.find((t) => t.date === d);
    const value = tp ? tp.sumMm : model.baseline?.sumMm;
    sum.append(el('td', { 'data-date': d, text: value === undefined ? '–' : String(value) }));
    response.append(el('td', { 'data-date': d, text: tp ? tp.response : 'baseline' }));
  }
  body.append(sum, response);
  table.append(body);
}

function showChart(model) {
  const box = $('chart');
  const width = Math.max(640, Math.min(box.clientWidth || 800, 1000));
  const built = buildTumourBurdenOption(model, { width, interactive: true });
  box.style.height = `${built.height}px`;
  const chart = echarts.init(box, null, { renderer: 'svg', width: built.width, height: built.height });
  chart.setOption(built.option);
  return chart;
}

async function main() {
  const config = await (await fetch('/app/config.json')).json();
  const client = await FHIR.oauth2.ready();
  const patientId = client.patient.id;
  if (!patientId) throw new Error('The launch gave no patient.');
  const patient = await client.patient.read();
  $('patient').textContent =
    `${patientName(patient)} · Patient/${patient.id}${patient.birthDate ? ` · born ${patient.birthDate}` : ''}`;

  const searches = config.searches.map((s) => s.replaceAll(config.patientToken, encodeURIComponent(patientId)));
  const read = (search) => client.request(search, { pageLimit: 0, flat: true });
  const results = await Promise.all(
    searches.map((s) =>
      read(s).then(
        (r) => ({ s, r }),
        (error) => ({ s, error }),
      ),
    ),
  );
  const failed = results.filter((x) => x.error && !/^(BodyStructure|Flag)\?/.test(x.s));
  if (failed.length > 0)
    throw new Error(`The FHIR server could not be read (${failed.map((x) => x.s.split('?')[0]).join(', ')}).`);
  const resources = dedupe([patient, ...results.flatMap((x) => x.r ?? [])]);
  const reports = await read(`DiagnosticReport?subject=Patient/${encodeURIComponent(patientId)}&_count=200`).catch(
    () => [],
  );

  const response = await fetch('/app/api/chart-model', {
    method: 'POST',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      entry: resources.map((resource) => ({ resource })),
    }),
  });
  if (!response.ok) throw new Error(`The adapter could not assess the data (HTTP ${response.status}).`);
  const model = await response.json();

  const flagSearch = results.find((x) => x.s.startsWith('Flag?'));
  const byType = (type) => resources.filter((r) => r.resourceType === type);
  showFlag(byType('Flag'), byType('Observation'), config, Boolean(flagSearch?.error));
  const chart = showChart(model);
  showLesions(model);
  showReports(reports, config);
  $('source').textContent = config.source;
  // For tests and for a clinician's browser console: what is drawn.
  window.irecistApp = { chart, model };
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  $('message').textContent = err instanceof Error ? err.message : String(err);
  $('message').className = 'error';
  document.body.dataset.ready = 'error';
});
