// Reading printed activation slips the way a person's phone would: each
// slip's QR code rendered to pixels by the browser and read by an
// independent decoder (jsQR), and the page count of the PDF the browser
// prints. Shared by slips.test.mjs and console.test.mjs.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Each slip's QR code on the page, decoded (null where none reads);
 * jsQR is loaded into the page: moving the pixels out would take longer. */
export async function decodeSlips(page) {
  await page.addScriptTag({ path: require.resolve('jsqr/dist/jsQR.js') });
  return page.evaluate(async () => {
    const out = [];
    for (const svg of document.querySelectorAll('.slip svg')) {
      const img = new Image();
      img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = c.height = 400;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0, 400, 400);
      out.push(window.jsQR(g.getImageData(0, 0, 400, 400).data, 400, 400)?.data ?? null);
    }
    return out;
  });
}

/** The number of pages of a PDF chromium printed. */
export const pdfPages = (pdf) => (pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
