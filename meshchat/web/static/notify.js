// A mention or a direct message: a short two-tone chirp (WebAudio, no sound file) and a
// desktop notification when the user allowed them.

let audio = null;

/** Create the audio context inside a user gesture, as browsers require. */
export function unlockAudio() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch (err) {
    audio = null;
  }
}

export function chirp() {
  if (!audio) return;
  if (audio.state === "suspended") audio.resume();
  const now = audio.currentTime;
  for (const [freq, start] of [
    [880, 0],
    [1320, 0.12],
  ]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + start);
    gain.gain.exponentialRampToValueAtTime(0.2, now + start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.11);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + start);
    osc.stop(now + start + 0.12);
  }
}

export function notificationState() {
  if (!("Notification" in window)) return "unsupported";
  return Notification.permission;
}

export async function askPermission() {
  if (!("Notification" in window)) return "unsupported";
  return Notification.requestPermission();
}

export function desktop(title, body, onClick) {
  if (notificationState() !== "granted" || !document.hidden) return;
  try {
    const n = new Notification(title, { body: body.slice(0, 140), tag: "meshchat" });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch (err) {
    // Some browsers allow notifications only from a service worker; the sound still plays.
  }
}
