// tests/browser/demo.js: the demo page (deploy/www) driven in Debian's
// chromium through playwright-core, as a person would, at desktop and
// phone sizes. Run by tests/integration/t_browser.sh, which starts Redis,
// vcoded, nginx and the stand-in provider and passes, in the environment:
//   BASE        http://127.0.0.1:PORT (nginx serving the page and vcode)
//   REDIS_SOCK  the test's Redis (the answers: the test plays the reader)
//   FLOG        the stand-in provider's log (one JSON line a request)
//   SHOTS       where the screenshots go
// Prints one "ok - NAME" or "FAIL - NAME: expected X, saw Y" line per
// check, as the shell tests do; exits 1 when a step cannot go on.
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const BASE = process.env.BASE;
const SOCK = process.env.REDIS_SOCK;
const FLOG = process.env.FLOG;
const SHOTS = process.env.SHOTS;
let failed = 0;

function check(name, want, saw) {
	if (want === saw)
		console.log(`ok - ${name}`);
	else {
		failed++;
		console.log(`FAIL - ${name}: expected ${JSON.stringify(want)}, saw ${JSON.stringify(saw)}`);
	}
}
function checkMatch(name, re, saw) {
	if (re.test(saw))
		console.log(`ok - ${name}`);
	else {
		failed++;
		console.log(`FAIL - ${name}: expected match of ${re}, saw ${JSON.stringify(saw)}`);
	}
}
function redis(...args) {
	return execFileSync('redis-cli', ['-s', SOCK, ...args]).toString().trim();
}
function sentTo(mobile) {
	if (!fs.existsSync(FLOG))
		return [];
	return fs.readFileSync(FLOG, 'utf8').split('\n').filter(Boolean)
	    .map((l) => JSON.parse(l)).filter((r) => r.mobile === mobile && r.ok);
}
let seq = 0;
function newMobile() {
	seq++;
	return '13' + String(5 + seq % 5) + String(Date.now() % 100000000).padStart(8, '0').slice(0, 6) + String(seq).padStart(2, '0');
}
async function uuidOf(page) {
	const src = await page.getAttribute('#captcha', 'src');
	const m = /\/image_codes\/([^/]+)\//.exec(src || '');
	return m ? m[1] : '';
}
async function waitDecoded(page) {
	await page.waitForFunction(() => {
		const i = document.getElementById('captcha');
		return i.complete && i.naturalWidth > 0;
	}, null, { timeout: 10000 });
}
async function shot(page, name) {
	await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

async function run(browser, size, tag) {
	const ctx = await browser.newContext({ viewport: size, locale: 'zh-CN' });
	const page = await ctx.newPage();
	const P = `[${tag} ${size.width}x${size.height}]`;

	// The page loads and its captcha decodes.
	const resp = await page.goto(BASE + '/');
	check(`${P} the page loads`, 200, resp.status());
	await waitDecoded(page);
	check(`${P} the captcha decodes as a 120x40 image`, '120x40',
	    await page.$eval('#captcha', (i) => `${i.naturalWidth}x${i.naturalHeight}`));
	check(`${P} nothing wider than the viewport`, true,
	    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
	await shot(page, `${tag}-1-loaded`);

	// A click on the picture gives a new one; the old id goes as ?pre=.
	const first = await uuidOf(page);
	check(`${P} the first captcha's answer is in Redis`, true, redis('exists', 'img_' + first) === '1');
	await page.click('#captcha');
	await waitDecoded(page);
	const second = await uuidOf(page);
	check(`${P} a click changes the captcha`, true, second !== '' && second !== first);
	checkMatch(`${P} ... asking with ?pre= the old id`, new RegExp('\\?pre=' + first + '$'),
	    await page.getAttribute('#captcha', 'src'));
	check(`${P} ... which vcode dropped`, '0 1',
	    redis('exists', 'img_' + first) + ' ' + redis('exists', 'img_' + second));

	// "Listen" plays the audio challenge, whose digits replace the answer.
	check(`${P} the listen button is named for a screen reader`, true,
	    /listen/.test(await page.getAttribute('#listen', 'aria-label')));
	await page.click('#listen');
	await page.waitForFunction(() => {
		const a = document.getElementById('audio');
		return a.readyState >= 2 && a.duration > 0;
	}, null, { timeout: 15000 });
	const dur = await page.$eval('#audio', (a) => a.duration);
	check(`${P} the audio challenge loads and plays (${dur.toFixed(1)} s)`, true, dur > 1);
	const digits = redis('get', 'img_' + second);
	checkMatch(`${P} its answer is 6 digits`, /^[0-9]{6}$/, digits);
	await shot(page, `${tag}-2-listen`);

	// Mobile and the heard digits typed; "get SMS code".
	const mobile = newMobile();
	await page.fill('#mobile', mobile);
	await page.fill('#image_code', digits);
	await page.click('#send');
	await page.waitForFunction(() => /成功|秒|错误|error/.test(document.getElementById('msg').textContent), null, { timeout: 10000 });
	check(`${P} success text`, '发送短信成功', await page.textContent('#msg'));
	await page.waitForFunction(() => /秒后重发/.test(document.getElementById('send').textContent), null, { timeout: 3000 });
	const label = await page.textContent('#send');
	const left = Number((/^(\d+)/.exec(label) || [])[1]);
	check(`${P} the 60-second countdown runs (${label})`, true, left >= 55 && left <= 60);
	check(`${P} ... the button disabled`, true, await page.$eval('#send', (b) => b.disabled));
	await shot(page, `${tag}-3-sent`);
	await page.waitForTimeout(300);
	const sent = sentTo(mobile);
	check(`${P} one message reached the stand-in provider`, 1, sent.length);
	const code = sent.length ? sent[0].code : '';
	check(`${P} ... carrying the code vcode stored`, redis('get', 'sms_' + mobile), code);

	// The countdown survives a reload.
	await page.reload();
	await waitDecoded(page);
	const label2 = await page.textContent('#send');
	const left2 = Number((/^(\d+)/.exec(label2) || [])[1]);
	check(`${P} after a reload the countdown goes on (${label2})`, true,
	    left2 >= 40 && left2 <= left);
	check(`${P} ... the button still disabled`, true, await page.$eval('#send', (b) => b.disabled));
	await shot(page, `${tag}-4-reloaded`);

	// The code typed verifies.
	await page.fill('#mobile', mobile);
	await page.fill('#sms_code', code);
	await page.click('#verify');
	await page.waitForFunction(() => /验证成功|错误|有误|error/.test(document.getElementById('msg').textContent), null, { timeout: 10000 });
	check(`${P} the SMS code verifies`, '验证成功 (verified)', await page.textContent('#msg'));
	await shot(page, `${tag}-5-verified`);

	// A wrong answer: the dialect's errmsg and a fresh captcha. (A new
	// context: no countdown of the number above.)
	const ctx2 = await browser.newContext({ viewport: size, locale: 'zh-CN' });
	const p2 = await ctx2.newPage();
	await p2.goto(BASE + '/');
	await waitDecoded(p2);
	const before = await uuidOf(p2);
	const answer = redis('get', 'img_' + before);
	const wrong = answer === 'AAAA' ? 'CCCC' : 'AAAA';
	await p2.fill('#mobile', newMobile());
	await p2.fill('#image_code', wrong);
	await p2.click('#send');
	await p2.waitForFunction(() => document.getElementById('msg').textContent !== '', null, { timeout: 10000 });
	check(`${P} a wrong answer shows meiduo's errmsg`, '输入图形验证码有误', await p2.textContent('#msg'));
	await waitDecoded(p2);
	const after = await uuidOf(p2);
	check(`${P} ... and a fresh captcha`, true, after !== '' && after !== before);
	check(`${P} ... the send button usable again`, false, await p2.$eval('#send', (b) => b.disabled));
	await shot(p2, `${tag}-6-wrong`);
	await ctx2.close();
	await ctx.close();
}

(async () => {
	fs.mkdirSync(SHOTS, { recursive: true });
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
	});
	try {
		await run(browser, { width: 1280, height: 800 }, 'desktop');
		await run(browser, { width: 390, height: 844 }, 'phone');
	} finally {
		await browser.close();
	}
	process.exit(failed ? 1 : 0);
})().catch((e) => {
	console.log(`FAIL - browser run: expected no error, saw ${JSON.stringify(String(e && e.message || e).slice(0, 300))}`);
	process.exit(1);
});
