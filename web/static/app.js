/* civicdesk pages: optional enhancements only — every page works without this file.
 * A character count for text areas with data-count, a copy button for the query code,
 * and focus on the error summary. */
(function () {
	"use strict";
	function count(area) {
		var out = document.getElementById(area.getAttribute("data-count"));
		if (!out) return;
		var tmpl = out.getAttribute("data-template") || "%n";
		var update = function () {
			out.textContent = tmpl.replace("%n", String(Array.from(area.value).length));
		};
		area.addEventListener("input", update);
		update();
	}
	function copy(button) {
		var source = document.getElementById(button.getAttribute("data-copy"));
		var status = document.getElementById(button.getAttribute("data-copy") + "-copied");
		if (!source || !navigator.clipboard) return;
		button.hidden = false;
		button.addEventListener("click", function () {
			navigator.clipboard.writeText(source.textContent.trim()).then(function () {
				if (status) status.textContent = "✓";
			});
		});
	}
	document.addEventListener("DOMContentLoaded", function () {
		document.querySelectorAll("textarea[data-count]").forEach(count);
		document.querySelectorAll("button[data-copy]").forEach(copy);
		var summary = document.getElementById("error-summary");
		if (summary) summary.focus();
	});
})();
