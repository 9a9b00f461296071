// The leaders' report (tp-assets report): charts and the scenario-switch map.
// Every text from the registers is drawn with textContent, never as markup.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var COLOURS = { dispose: "#d7301f", receives: "#2171b5", retain: "#636363", "": "#636363" };
  var DECISIONS = { dispose: "disposed of", receives: "kept, receiving services",
                    retain: "kept as it is", "": "in use" };
  var CHANGE_COLOURS = ["#f7f7f7", "#fdae61", "#a6d96a", "#d7191c", "#1a9641", "#d9d9d9"];
  var state = { scenario: null, service: null, drawn: {} };
  window.reportState = state;

  // charts: interactive where script runs; the PNG beside each is the fallback
  var specs = data.specs;
  document.querySelectorAll(".vega").forEach(function (el) {
    var spec = specs[el.getAttribute("data-spec")];
    window.vegaEmbed(el, spec, data.embed).catch(function (error) {
      el.textContent = "The chart could not be drawn: " + error;
      el.parentNode.querySelector("img.static").style.display = "block";
    });
  });

  var m = data.map;
  var map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
  var zones = L.geoJSON(m.zones, {
    style: { weight: 0.4, color: "#737373", fillOpacity: 0.6 },
    pointToLayer: function (feature, latlng) {  // zones given as points
      return L.circleMarker(latlng, { radius: 9, weight: 1, color: "#737373", fillOpacity: 0.6 });
    } });
  zones.addTo(map);
  map.fitBounds(zones.getBounds());
  var moveLayer = L.layerGroup().addTo(map);
  var siteLayer = L.layerGroup().addTo(map);

  var serviceSelect = document.getElementById("service");
  m.services.forEach(function (s, k) {
    var option = document.createElement("option");
    option.value = String(k);
    option.textContent = s.type.replace(/_/g, " ") + " (" + s.label + " min)";
    serviceSelect.appendChild(option);
  });

  function text(lines) {
    var div = document.createElement("div");
    lines.forEach(function (line, k) {
      if (k) { div.appendChild(document.createElement("br")); }
      div.appendChild(document.createTextNode(line));
    });
    return div;
  }

  function bandColour(minutes, limit) {
    if (minutes === null) { return "#d73027"; }
    if (minutes <= limit / 2) { return "#1a9850"; }
    if (minutes <= limit) { return "#d9ef8b"; }
    return "#fc8d59";
  }

  function draw() {
    var k = state.scenario;
    var service = m.services[state.service];
    var name = k === null ? "today" : m.scenarios[k];
    var counts = { dispose: 0, moves: 0, lose: 0, gain: 0 };
    siteLayer.clearLayers();
    moveLayer.clearLayers();
    m.sites.forEach(function (site) {
      var decision = k === null ? "" : site.d[k];
      if (decision === "dispose") { counts.dispose += 1; }
      var marker = L.circleMarker([site.lat, site.lon], {
        radius: 5, weight: site.differs ? 3 : 1, color: site.differs ? "#000" : "#fff",
        fillColor: COLOURS[decision] || "#636363", fillOpacity: 0.95 });
      marker.bindTooltip(text([site.name, site.owner + " (" + site.id + ")",
                               DECISIONS[decision] || decision,
                               site.differs ? "decided differently across the scenarios" : ""]));
      marker.addTo(siteLayer);
    });
    if (k !== null) {
      m.moves[k].forEach(function (move) {
        var a = m.sites[move[0]], b = m.sites[move[1]];
        counts.moves += 1;
        L.polyline([[a.lat, a.lon], [b.lat, b.lon]], { color: "#2171b5", weight: 2,
          opacity: 0.8 }).bindTooltip(text([move[2] + ": " + a.name + " to " + b.name]))
          .addTo(moveLayer);
      });
    }
    var today = service ? m.minutes[service.type].today : [];
    var after = service && k !== null ? m.minutes[service.type][name] : null;
    var codes = service && k !== null ? (m.change[service.type][name] || null) : null;
    var i = 0;
    zones.eachLayer(function (layer) {
      var j = i++;
      var fill = "#f7f7f7", lines = [layer.feature.properties.zone_id];
      if (service && codes) {
        fill = CHANGE_COLOURS[codes[j]];
        if (codes[j] === 3) { counts.lose += 1; }
        if (codes[j] === 4) { counts.gain += 1; }
        lines.push(service.type.replace(/_/g, " ") + ": " + m.changes[codes[j]],
                   "today " + (today[j] === null ? "beyond reach" : today[j] + " min") +
                   ", then " + (after[j] === null ? "beyond reach" : after[j] + " min"));
      } else if (service) {
        fill = bandColour(today[j], service.minutes);
        lines.push(service.type.replace(/_/g, " ") + " today: " +
                   (today[j] === null ? "beyond reach" : today[j] + " min"));
      }
      layer.setStyle({ fillColor: fill });
      layer.unbindTooltip();
      layer.bindTooltip(text(lines), { sticky: true });
    });
    state.drawn = counts;
    var caption = document.getElementById("map-caption");
    caption.textContent = k === null
      ? "Today: every site in use; zones shaded by the minutes to the nearest " +
        (service ? service.type.replace(/_/g, " ") : "service") + "."
      : name + ": " + counts.dispose + " sites disposed of, " + counts.moves +
        " services moved; " + (service ? service.type.replace(/_/g, " ") + ": " +
        counts.lose + " zones lose the standard, " + counts.gain + " gain it." : "");
    legend(k === null);
  }

  function legend(today) {
    var box = document.getElementById("map-legend");
    box.textContent = "";
    function key(colour, label, ring) {
      var span = document.createElement("span");
      span.className = ring ? "key ring" : "key";
      if (!ring) { span.style.background = colour; }
      box.appendChild(span);
      box.appendChild(document.createTextNode(label));
    }
    if (today) {
      key("#1a9850", "within half the standard"); key("#d9ef8b", "within the standard");
      key("#fc8d59", "outside it"); key("#d73027", "beyond reach");
    } else {
      key(COLOURS.dispose, "site disposed of"); key(COLOURS.receives, "receives services");
      key(COLOURS.retain, "kept as it is");
      m.changes.forEach(function (label, code) {
        if (code) { key(CHANGE_COLOURS[code], "zone: " + label); }
      });
    }
    key("", "site decided differently across scenarios", true);
  }

  // the printed page is narrower than the screen: frame the place again for it
  function refit() { map.invalidateSize(); map.fitBounds(zones.getBounds()); }
  window.addEventListener("beforeprint", refit);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    if (print.addEventListener) { print.addEventListener("change", refit); }
  }

  document.getElementById("scenario").addEventListener("change", function (event) {
    state.scenario = event.target.value === "" ? null : Number(event.target.value);
    draw();
  });
  serviceSelect.addEventListener("change", function (event) {
    state.service = Number(event.target.value);
    draw();
  });
  state.scenario = m.scenarios.length ? 0 : null;
  state.service = m.services.length ? 0 : null;
  document.getElementById("scenario").value = state.scenario === null ? "" : "0";
  draw();
}());
