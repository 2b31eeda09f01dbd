// netqos technician page: plain JS, no build step. Talks to the ticket API with the token kept in
// sessionStorage; every text from the server goes in through textContent (never innerHTML).
"use strict";

const I18N = {
  "zh-CN": {
    app_title: "netqos 故障工单", switch_to: "English", logout: "退出", token_label: "API 令牌",
    login: "登录", my_tickets: "本班组未关闭工单", refresh: "刷新", no_tickets: "暂无工单", back: "返回列表",
    deadline: "修复时限（北京时间）", root_cause: "根因告警", symptoms: "关联告警", customers: "受影响客户 / 业务",
    site: "站点", address: "地址", detected: "发现时间", ack: "确认受理", progress: "开始处理", resolve: "已修复",
    add_note: "添加备注", save_note: "保存备注", notes: "处理记录", priority: "优先级 P",
    reopen: "重新打开", close: "关闭工单", cause_label: "故障原因", choose_cause: "请选择故障原因",
    cleared: "已清除", sla_excluded: "不计入考核",
    remaining: "剩余 ", overdue: "已超时 ", no_deadline: "无时限", days: "天", hours: "小时", minutes: "分", seconds: "秒",
    bad_token: "令牌无效，请重新登录", failed: "操作失败：", done: "已更新", none: "无", subscribers: "用户",
    status: { open: "待受理", acknowledged: "已受理", in_progress: "处理中", resolved: "已修复", closed: "已关闭" },
    kind: { device_unreachable: "设备不可达", interface_down: "端口中断", interface_flapping: "端口振荡",
            threshold: "越限", bgp_down: "BGP 中断", pon_down: "PON 口中断", onu_los: "ONU 光信号丢失",
            onu_rx_power: "ONU 收光异常", radio_rsl_low: "微波接收电平低", radio_down: "微波链路中断",
            on_battery: "市电停电（电池供电）", trap: "设备告警" },
  },
  en: {
    app_title: "netqos trouble tickets", switch_to: "中文", logout: "Log out", token_label: "API token",
    login: "Log in", my_tickets: "My team's open tickets", refresh: "Refresh", no_tickets: "No tickets",
    back: "Back to list", deadline: "Repair deadline (Beijing time)", root_cause: "Root cause",
    symptoms: "Symptom alarms", customers: "Affected customers / services", site: "Site", address: "Address",
    detected: "Detected", ack: "Acknowledge", progress: "Start work", resolve: "Resolve", add_note: "Add a note",
    save_note: "Save note", notes: "Notes", priority: "Priority P", remaining: "", overdue: "Overdue by ",
    reopen: "Reopen", close: "Close ticket", cause_label: "Cause", choose_cause: "Choose the cause",
    cleared: "cleared", sla_excluded: "not counted against SLA",
    no_deadline: "no deadline", days: "d ", hours: "h ", minutes: "m ", seconds: "s",
    bad_token: "Invalid token, please log in again", failed: "Failed: ", done: "Updated", none: "none",
    subscribers: "subscribers",
    status: { open: "open", acknowledged: "acknowledged", in_progress: "in progress", resolved: "resolved",
              closed: "closed" },
    kind: { device_unreachable: "device unreachable", interface_down: "interface down",
            interface_flapping: "interface flapping", threshold: "threshold", bgp_down: "BGP down",
            pon_down: "PON port down", onu_los: "ONU loss of signal", onu_rx_power: "ONU rx power",
            radio_rsl_low: "radio RSL low", radio_down: "radio link down", on_battery: "mains lost (on battery)",
            trap: "device alarm" },
  },
};
const OPEN_STATUSES = ["open", "acknowledged", "in_progress", "resolved"];

const state = { lang: "zh-CN", tz: "Asia/Shanghai", skew: 0, me: null, ticket: null, timer: null, causes: [] };
const $ = (id) => document.getElementById(id);
const t = (key) => I18N[state.lang][key];

function token() { return sessionStorage.getItem("netqos.token"); }

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { logout(t("bad_token")); throw new Error("401"); }
  if (!r.ok) { throw new Error(data.detail || r.statusText); }
  return data;
}

function say(text) { $("message").textContent = text; }

function show(view) {
  for (const v of ["login-view", "list-view", "detail-view"]) $(v).hidden = v !== view;
  $("logout").hidden = view === "login-view";
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang-toggle").textContent = t("switch_to");
  document.title = t("app_title");
  if (state.me) $("who").textContent = state.me.name + (state.me.team ? " · " + state.me.team : "");
}

function fmtTime(iso) {
  return new Intl.DateTimeFormat(state.lang, { timeZone: state.tz, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(iso));
}

function fmtCountdown(deadlineIso) {
  if (!deadlineIso) return { text: t("no_deadline"), overdue: false };
  let ms = Date.parse(deadlineIso) - (Date.now() + state.skew);
  const overdue = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = (d ? d + t("days") : "") + h + t("hours") + String(m).padStart(2, "0") + t("minutes")
    + String(s).padStart(2, "0") + t("seconds");
  return { text: (overdue ? t("overdue") : t("remaining")) + parts, overdue };
}

function alarmText(a) {
  const kind = t("kind")[a.kind.split(":")[0]] || a.kind;
  return a.device + " · " + kind + (a.resource ? " · " + a.resource : "");
}

function li(text) { const el = document.createElement("li"); el.textContent = text; return el; }

// an alarm line: "device · kind · resource", and when it has cleared " (cleared 2026/11/25 10:07)"
function alarmInto(el, a) {
  el.textContent = alarmText(a);
  el.dataset.state = a.state;
  el.classList.toggle("cleared", a.state === "cleared");
  if (a.state === "cleared") {
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = " (" + t("cleared") + " " + fmtTime(a.cleared_at) + ")";
    el.append(when);
  }
  return el;
}

function renderCauses() {
  const sel = $("cause");
  const chosen = sel.value;
  const blank = document.createElement("option");
  blank.value = "";
  blank.textContent = t("choose_cause");
  const opts = state.causes.map((c) => {
    const o = document.createElement("option");
    o.value = c.code;
    o.textContent = (state.lang === "en" ? c.en : c.zh) + (c.excluded_from_sla ? " · " + t("sla_excluded") : "");
    return o;
  });
  sel.replaceChildren(blank, ...opts);
  sel.value = state.causes.some((c) => c.code === chosen) ? chosen : "";
  $("close").disabled = !sel.value;
}

async function loadList() {
  show("list-view");
  const q = OPEN_STATUSES.map((s) => "status=" + s).join("&");
  const page = await api("GET", "/api/tickets?" + q + "&limit=200");
  const ul = $("tickets");
  ul.replaceChildren();
  $("empty").hidden = page.items.length > 0;
  page.items.sort((a, b) => a.priority - b.priority || a.id - b.id);
  for (const tk of page.items) {
    const el = document.createElement("li");
    el.dataset.ticketId = String(tk.id);
    const title = document.createElement("div");
    title.textContent = "#" + tk.id + " " + tk.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    const cd = fmtCountdown(tk.clock.repair_deadline);
    meta.textContent = [t("priority") + tk.priority, t("status")[tk.status], tk.site.name, cd.text].join(" · ");
    el.append(title, meta);
    el.addEventListener("click", () => openTicket(tk.id).catch((e) => say(t("failed") + e.message)));
    ul.append(el);
  }
}

function renderTicket(tk) {
  state.ticket = tk;
  $("d-title").textContent = "#" + tk.id + " " + tk.title;
  $("d-status").textContent = t("status")[tk.status];
  $("d-status").dataset.status = tk.status;
  $("d-priority").textContent = t("priority") + tk.priority;
  alarmInto($("d-root"), tk.root);
  const sym = tk.alarms.filter((a) => a.role === "symptom");
  $("d-symptoms").replaceChildren(...(sym.length ? sym.map((a) => alarmInto(document.createElement("li"), a))
    : [li(t("none"))]));
  const svc = tk.impact.services.map((s) => li(s.customer + " — " + s.service_id + " (" + s.service_class + ", "
    + s.subscribers + " " + t("subscribers") + ")"));
  $("d-services").replaceChildren(...(svc.length ? svc : [li(t("none"))]));
  $("d-site").textContent = tk.site.name + " (" + tk.site.region + ")";
  $("d-address").textContent = tk.site.address || "—";
  $("d-detected").textContent = fmtTime(tk.clock.detected);
  $("d-deadline").textContent = tk.clock.repair_deadline ? fmtTime(tk.clock.repair_deadline) : "";
  $("d-notes").replaceChildren(...tk.notes.map((n) => li(fmtTime(n.time) + " " + n.author + "：" + n.text)));
  $("ack").disabled = tk.status !== "open";
  $("progress").disabled = !["open", "acknowledged"].includes(tk.status);
  $("resolve").disabled = !["open", "acknowledged", "in_progress"].includes(tk.status);
  $("reopen").hidden = !(state.me && state.me.role === "noc");  // reopening is the NOC's
  $("reopen").disabled = !["resolved", "closed"].includes(tk.status);
  $("close-form").hidden = tk.status !== "resolved";  // closing is from resolved, with a cause code
  renderCauses();
  tickCountdown();
}

function tickCountdown() {
  if (!state.ticket) return;
  const cd = fmtCountdown(state.ticket.clock.repair_deadline);
  $("d-countdown").textContent = cd.text;
  $("d-countdown").classList.toggle("overdue", cd.overdue);
}

async function openTicket(id) {
  renderTicket(await api("GET", "/api/tickets/" + id));
  show("detail-view");
}

async function act(path, body) {
  try {
    renderTicket(await api("POST", "/api/tickets/" + state.ticket.id + path, body));
    say(t("done"));
  } catch (e) { if (e.message !== "401") say(t("failed") + e.message); }
}

function logout(message) {
  sessionStorage.removeItem("netqos.token");
  state.me = null; state.ticket = null;
  $("who").textContent = "";
  show("login-view");
  say(message || "");
}

async function start() {
  try {
    state.me = await api("GET", "/api/me");
  } catch (e) { return; }
  state.tz = state.me.timezone;
  state.skew = Date.parse(state.me.server_time) - Date.now();
  applyLanguage();
  state.causes = await api("GET", "/api/causes");
  renderCauses();
  await loadList();
}

document.addEventListener("DOMContentLoaded", () => {
  const saved = localStorage.getItem("netqos.lang");
  state.lang = I18N[saved] ? saved : (I18N[document.documentElement.dataset.defaultLang] ? document.documentElement.dataset.defaultLang : "zh-CN");
  applyLanguage();
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh-CN" ? "en" : "zh-CN";
    localStorage.setItem("netqos.lang", state.lang);
    applyLanguage();
    renderCauses();
    if (!$("detail-view").hidden && state.ticket) renderTicket(state.ticket);
    else if (!$("list-view").hidden) loadList().catch((e) => say(t("failed") + e.message));
  });
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("netqos.token", $("token").value.trim());
    $("token").value = "";
    say("");
    start();
  });
  $("logout").addEventListener("click", () => logout(""));
  $("refresh").addEventListener("click", () => loadList().catch((e) => say(t("failed") + e.message)));
  $("back").addEventListener("click", () => { state.ticket = null; loadList().catch((e) => say(t("failed") + e.message)); });
  $("ack").addEventListener("click", () => act("/ack"));
  $("progress").addEventListener("click", () => act("/progress"));
  $("resolve").addEventListener("click", () => act("/resolve"));
  $("reopen").addEventListener("click", () => act("/reopen"));
  $("cause").addEventListener("change", () => { $("close").disabled = !$("cause").value; });
  $("close-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const code = $("cause").value;
    if (code) act("/close", { cause_code: code }).then(() => { $("cause").value = ""; renderCauses(); });
  });
  $("note-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("note-text").value.trim();
    if (text) act("/notes", { text }).then(() => { $("note-text").value = ""; });
  });
  state.timer = setInterval(tickCountdown, 1000);
  if (token()) start(); else show("login-view");
});
