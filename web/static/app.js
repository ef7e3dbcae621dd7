/* civicdesk pages: optional enhancements only — every page works without this file.
 * A character count for text areas with data-count, copy buttons for the tracking number and
 * the query code, focus on the error summary, a check of the length of fields limited in
 * characters (data-max-chars) and of the attachments' sizes before a form is sent
 * (a body over the server's limit is refused before it is read, and the page that says so
 * cannot give back what was typed). */
(function () {
	"use strict";
	// The count shows at once; a screen reader hears it once typing pauses (a live region
	// updated on every key would talk over the typing).
	function count(area) {
		var out = document.getElementById(area.getAttribute("data-count"));
		if (!out) return;
		var tmpl = out.getAttribute("data-template") || "%n";
		var live = document.createElement("p");
		var timer = null;
		live.className = "vh";
		live.id = out.id + "-live";
		live.setAttribute("aria-live", "polite");
		out.parentNode.insertBefore(live, out.nextSibling);
		var text = function () {
			return tmpl.replace("%n", String(Array.from(area.value).length));
		};
		area.addEventListener("input", function () {
			out.textContent = text();
			clearTimeout(timer);
			timer = setTimeout(function () { live.textContent = text(); }, 1200);
		});
		out.textContent = text();
	}
	function copy(button) {
		var source = document.getElementById(button.getAttribute("data-copy"));
		var status = document.getElementById(button.getAttribute("data-copy") + "-copied");
		if (!source || !navigator.clipboard) return;
		button.hidden = false;
		button.addEventListener("click", function () {
			// said in the page's language (data-copied), once per click
			if (status) status.textContent = "";
			navigator.clipboard.writeText(source.textContent.trim()).then(function () {
				if (status) status.textContent = button.getAttribute("data-copied") || "✓";
			});
		});
	}
	// The files of input against its data-max-files, data-max-file and data-max-total (the
	// whole request, the form's text counted too): true when they may be sent.
	function filesFit(input) {
		var files = Array.from(input.files || []);
		var max = Number(input.getAttribute("data-max-file"));
		var total = 4096;
		input.form.querySelectorAll("input[type=text], input[type=tel], input[type=email], textarea").forEach(function (f) {
			total += new Blob([f.value]).size;
		});
		files.forEach(function (f) { total += f.size + 512; });
		return files.length <= Number(input.getAttribute("data-max-files")) &&
			files.every(function (f) { return f.size <= max; }) &&
			total <= Number(input.getAttribute("data-max-total"));
	}
	// The message (text) beside the field, tied to it (as the server's own), or taken away (the
	// server's own too when it only asked for the files again: data-again).
	function fieldMessage(input, show, text) {
		var id = input.id + "-error";
		var msg = document.getElementById(id);
		var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
		if (!show) {
			if (msg && (msg.hasAttribute("data-client") || msg.hasAttribute("data-again"))) msg.remove();
			if (!document.getElementById(id)) {
				input.removeAttribute("aria-invalid");
				input.setAttribute("aria-describedby", described.join(" "));
				input.parentNode.classList.remove("invalid");
			}
			return;
		}
		if (!msg) {
			msg = document.createElement("p");
			msg.className = "error";
			msg.id = id;
			input.parentNode.insertBefore(msg, input);
		}
		msg.setAttribute("data-client", "");
		msg.setAttribute("role", "alert");
		msg.textContent = text;
		described.push(id);
		input.setAttribute("aria-describedby", described.join(" "));
		input.setAttribute("aria-invalid", "true");
		input.parentNode.classList.add("invalid");
	}
	function checkFiles(input) {
		var text = input.getAttribute("data-error");
		input.addEventListener("change", function () { fieldMessage(input, !filesFit(input), text); });
		input.form.addEventListener("submit", function (e) {
			if (filesFit(input)) return;
			// a field above that is refused already has the focus (the first one is focused)
			var first = !e.defaultPrevented;
			e.preventDefault();
			fieldMessage(input, true, text);
			if (first) input.focus();
		});
	}
	// A field whose limit is in characters (data-max-chars), counted as the server counts them:
	// code points. The browser's maxlength counts UTF-16 units, in which an emoji or a rare
	// CJK character (ext. B and beyond, in some names) is two, so the page sets it to twice the
	// limit and the limit itself is checked here: the message beside the field as soon as the
	// text is too long (once, not at every key), gone when it fits; the form is not sent.
	function checkChars(input) {
		var max = Number(input.getAttribute("data-max-chars"));
		var text = input.getAttribute("data-too-long");
		var over = function () { return Array.from(input.value).length > max; };
		var shown = false;
		input.addEventListener("input", function () {
			if (over() === shown) return;
			shown = over();
			fieldMessage(input, shown, text);
		});
		input.form.addEventListener("submit", function (e) {
			if (!over()) return;
			var first = !e.defaultPrevented;
			e.preventDefault();
			shown = true;
			fieldMessage(input, true, text);
			if (first) input.focus();
		});
	}
	// The texts of the staff item page's forms (data-keep: the action, or the public version)
	// are kept in this tab's sessionStorage while typed: a session that ends while a reply or a
	// public text is written sends the form to the sign-in, which returns to the item, where the
	// text is put back. Done (?done=), the item's kept texts are dropped.
	function keep(form) {
		var prefix = "civicdesk:" + location.pathname + ":";
		var done = new URLSearchParams(location.search).get("done");
		// the tab keeps the texts: a form sent after the session ended goes to the sign-in as
		// before (without script the sign-in holds them itself: "kept" tells the server)
		try { sessionStorage.getItem(prefix); } catch (e) { return; }
		var mark = document.createElement("input");
		mark.type = "hidden";
		mark.name = "kept";
		mark.value = "1";
		form.appendChild(mark);
		form.querySelectorAll("textarea, input[type=text]").forEach(function (area) {
			var key = prefix + form.getAttribute("data-keep") + ":" + area.name;
			var saved = null;
			try { saved = sessionStorage.getItem(key); } catch (e) { return; }
			if (done) {
				sessionStorage.removeItem(key);
			} else if (saved && saved !== area.value && (area.value === "" || area.value === area.defaultValue)) {
				area.value = saved;
				var note = document.createElement("p");
				note.className = "notice";
				note.setAttribute("role", "status");
				note.textContent = form.getAttribute("data-restored");
				area.parentNode.insertBefore(note, area);
			}
			area.addEventListener("input", function () {
				try { sessionStorage.setItem(key, area.value); } catch (e) { /* full or off */ }
			});
		});
	}
	// A status message the server wrote into the page (an action done): a screen reader says
	// what changes in a live region, not what one held when the page loaded, so the message is
	// said through a live region of its own (put beside it, empty) once the page is there. The
	// visible message loses its role, not to be said twice; without this script it keeps it.
	function announce(el) {
		var live = document.createElement("p");
		live.className = "vh";
		live.id = (el.id || "status") + "-live";
		live.setAttribute("role", "status");
		el.parentNode.insertBefore(live, el.nextSibling);
		el.removeAttribute("role");
		setTimeout(function () { live.textContent = el.textContent.replace(/\s+/g, " ").trim(); }, 700);
	}
	document.addEventListener("DOMContentLoaded", function () {
		document.querySelectorAll("[role=status][data-announce]").forEach(announce);
		document.querySelectorAll("form[data-keep]").forEach(keep);
		// signing out forgets every kept text (a shared computer's next user sees none)
		document.querySelectorAll("form[action='/staff/logout']").forEach(function (f) {
			f.addEventListener("submit", function () {
				try {
					Object.keys(sessionStorage).filter(function (k) { return k.indexOf("civicdesk:") === 0; })
						.forEach(function (k) { sessionStorage.removeItem(k); });
				} catch (e) { /* storage off */ }
			});
		});
		// in the order of the page, so that the first field refused gets the focus
		document.querySelectorAll("input[data-max-chars], textarea[data-max-chars], input[type=file][data-max-total]").forEach(function (f) {
			if (f.type === "file") checkFiles(f); else checkChars(f);
		});
		document.querySelectorAll("textarea[data-count]").forEach(count);
		document.querySelectorAll("button[data-copy]").forEach(copy);
		var summary = document.getElementById("error-summary");
		if (summary) summary.focus();
	});
})();
