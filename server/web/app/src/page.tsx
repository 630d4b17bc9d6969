// What the voter page and the public site share: the header with its
// language switch, and saving a file the page made.
import type { Lang } from './i18n';

/** The header: the name (a link home where `home` is given) and the language switch. */
export function Header({ lang, setLang, label, switchTo, home }: { lang: Lang; setLang: (l: Lang) => void; label: string; switchTo: string; home?: string }) {
  return (
    <header>
      {home ? (
        <a class="brand" href={home}>
          urne
        </a>
      ) : (
        <span class="brand">urne</span>
      )}
      <button
        type="button"
        class="lang"
        lang={lang === 'en' ? 'fr' : 'en'}
        aria-label={label}
        onClick={() => {
          const next = lang === 'en' ? 'fr' : 'en';
          localStorage.setItem('urne-lang', next);
          setLang(next);
        }}
      >
        {switchTo}
      </button>
    </header>
  );
}

/** Saves `text` as the file `name`. */
export function download(name: string, text: string, type = 'text/plain') {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}
