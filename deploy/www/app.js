/*
 * vcode demo page: the meiduo seed flow against same-origin routes.
 *   GET  /image_codes/{uuid}/[?pre={old uuid}]   captcha PNG
 *   GET  /image_codes/{uuid}/audio?lang=zh|en    spoken digits (WAV) that
 *        replace the picture's answer under the same id
 *   GET  /sms_codes/{mobile}/?image_code=..&uuid=..
 *   POST /sms_codes/{mobile}/verify   {"sms_code": ".."}
 * Answers are {"code": N, "errmsg": ".."}; 0 is OK.
 */
(function () {
	"use strict";

	var COUNTDOWN = 60;		/* seconds before another SMS may be asked */
	var SEND_LABEL = "获取短信验证码";

	var $ = function (id) { return document.getElementById(id); };
	var img = $("captcha"), mobile = $("mobile"), imageCode = $("image_code");
	var smsCode = $("sms_code"), send = $("send"), verify = $("verify");
	var msg = $("msg"), audio = $("audio"), listen = $("listen");
	var audioLang = $("audio_lang"), listenHint = $("listen_hint");
	var uuid = null, counting = false;

	/* A v4 UUID: crypto.randomUUID where present (secure contexts only). */
	function newUuid() {
		var c = window.crypto || window.msCrypto, b, h, i;
		if (c && typeof c.randomUUID === "function")
			return c.randomUUID();
		b = new Uint8Array(16);
		if (c && typeof c.getRandomValues === "function")
			c.getRandomValues(b);
		else
			for (i = 0; i < 16; i++)
				b[i] = Math.floor(Math.random() * 256);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		h = [];
		for (i = 0; i < 16; i++)
			h.push((b[i] + 0x100).toString(16).slice(1));
		return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") +
		    "-" + h.slice(6, 8).join("") + "-" + h.slice(8, 10).join("") +
		    "-" + h.slice(10).join("");
	}

	/* New captcha; the old id goes along as ?pre= so vcode drops it. */
	function refreshCaptcha() {
		var old = uuid;
		uuid = newUuid();
		img.src = "/image_codes/" + uuid + "/" +
		    (old ? "?pre=" + encodeURIComponent(old) : "");
		imageCode.value = "";
		imageCode.placeholder = "输入图中字符";
		audio.pause();
		audio.removeAttribute("src");
		audio.hidden = true;
		listenHint.hidden = true;
	}

	/*
	 * The spoken challenge, under the same id: its digits replace the
	 * picture's answer, so the picture is dimmed while it stands.
	 */
	function playAudio() {
		audio.src = "/image_codes/" + encodeURIComponent(uuid) +
		    "/audio?lang=" + encodeURIComponent(audioLang.value);
		audio.hidden = false;
		listenHint.hidden = false;
		img.classList.add("stale");
		imageCode.value = "";
		imageCode.placeholder = "输入听到的数字";
		audio.play().catch(function () {
			/* Autoplay refused: the controls are there to press. */
		});
		show("请输入听到的数字 (type the digits you hear)", true);
		imageCode.focus();
	}

	function show(text, ok) {
		msg.textContent = text;
		msg.className = "msg " + (ok ? "ok" : "err");
	}

	/* Resolves to the parsed JSON answer, or rejects with a message. */
	function call(url, opts) {
		return fetch(url, opts).then(function (r) {
			if (r.status === 401)
				throw new Error("需要 API key：验证接口供应用服务器调用 " +
				    "(401: verify needs the API key)");
			return r.json().catch(function () {
				throw new Error("HTTP " + r.status +
				    " (服务器返回的不是 JSON / not JSON)");
			}).then(function (j) {
				if (!j || typeof j.code !== "number")
					throw new Error(j && j.errmsg ? j.errmsg :
					    "HTTP " + r.status);
				return j;
			});
		}, function () {
			throw new Error("网络错误 (network error)");
		});
	}

	/*
	 * The resend countdown. Its deadline is kept in localStorage, so a
	 * reload shows the same seconds left (the server's resend flag lives
	 * as long; the countdown only saves a refused request).
	 */
	var DEADLINE_KEY = "vcode_resend_until";

	function countdown(seconds) {
		var until = Date.now() + seconds * 1000, t;
		try {
			localStorage.setItem(DEADLINE_KEY, String(until));
		} catch (e) {
			/* Storage refused (private mode): this page only. */
		}
		function tick() {
			var left = Math.ceil((until - Date.now()) / 1000);
			if (left > 0) {
				/* Short enough for a phone's row; the name says
				 * it in both languages. */
				send.textContent = left + " 秒后重发";
				send.setAttribute("aria-label", left + " 秒后重发 " +
				    "(resend in " + left + " s)");
				return;
			}
			clearInterval(t);
			counting = false;
			send.disabled = false;
			send.textContent = SEND_LABEL;
			send.removeAttribute("aria-label");
			try {
				localStorage.removeItem(DEADLINE_KEY);
			} catch (e) {
			}
		}
		counting = true;
		send.disabled = true;
		tick();
		t = setInterval(tick, 1000);
	}

	/* A countdown a reload interrupted goes on where it was. */
	function resumeCountdown() {
		var until;
		try {
			until = Number(localStorage.getItem(DEADLINE_KEY));
		} catch (e) {
			return;
		}
		if (until > Date.now())
			countdown((until - Date.now()) / 1000);
	}

	function checkMobile() {
		var m = mobile.value.trim();
		if (!/^1[3-9]\d{9}$/.test(m)) {
			show("请输入正确的手机号 (enter a valid mobile number)", false);
			mobile.focus();
			return null;
		}
		return m;
	}

	send.addEventListener("click", function () {
		var m = checkMobile(), code = imageCode.value.trim();
		if (m === null || counting)
			return;
		if (code === "") {
			show("请输入图形验证码 (enter the captcha)", false);
			imageCode.focus();
			return;
		}
		send.disabled = true;
		call("/sms_codes/" + encodeURIComponent(m) + "/?image_code=" +
		    encodeURIComponent(code) + "&uuid=" + encodeURIComponent(uuid),
		    { cache: "no-store" }).then(function (j) {
			if (j.code === 0) {
				show(j.errmsg || "发送短信成功", true);
				countdown(COUNTDOWN);
				smsCode.focus();
			} else {
				show(j.errmsg || "错误 " + j.code, false);
				send.disabled = false;
			}
			/* A captcha is good for one attempt only. */
			refreshCaptcha();
		}, function (e) {
			show(e.message, false);
			send.disabled = false;
			refreshCaptcha();
		});
	});

	$("form").addEventListener("submit", function (ev) {
		var m, code = smsCode.value.trim();
		ev.preventDefault();
		if ((m = checkMobile()) === null)
			return;
		if (!/^\d{1,12}$/.test(code)) {
			show("请输入短信验证码 (enter the SMS code)", false);
			smsCode.focus();
			return;
		}
		verify.disabled = true;
		call("/sms_codes/" + encodeURIComponent(m) + "/verify", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ sms_code: code }),
			cache: "no-store"
		}).then(function (j) {
			if (j.code === 0)
				show("验证成功 (verified)", true);
			else
				show(j.errmsg || "错误 " + j.code, false);
		}, function (e) {
			show(e.message, false);
		}).then(function () {
			verify.disabled = false;
		});
	});

	img.addEventListener("click", refreshCaptcha);
	img.addEventListener("load", function () {
		img.classList.remove("stale");
	});
	$("refresh").addEventListener("click", refreshCaptcha);
	listen.addEventListener("click", playAudio);
	refreshCaptcha();
	resumeCountdown();
}());
