// Sets the theme before first paint, so a dark-theme user never sees a white flash. A file of
// its own rather than an inline script: the Content-Security-Policy allows no inline script.
try {
  var t = localStorage.getItem('skein.theme');
  if (!t) t = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  document.documentElement.dataset.theme = t;
} catch (e) {}
