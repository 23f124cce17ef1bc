#!/usr/bin/python3
"""Draws Osteon's icon (a bone across a dark tile, its upper end marked as a labelled part) and
writes icon.png (1024 px, macOS/Linux source), 512x512.png (Linux), icon.ico (Windows, 16-256 px)
and icon.icns (macOS). Re-run after changing it: /usr/bin/python3 resources/icons/make-icons.py
Needs Pillow (Debian: python3-pil)."""
from pathlib import Path
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
S = 1024


def bone(draw, fill, inset=0):
    # A bone along the diagonal: a shaft plus two knuckles at each end.
    r = 118 - inset
    for cx, cy in [(292, 232), (232, 292), (792, 732), (732, 792)]:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    w = 92 - inset
    draw.polygon([(262 - w, 262 + w), (262 + w, 262 - w), (762 + w, 762 - w), (762 - w, 762 + w)], fill=fill)


def main():
    img = Image.new('RGBA', (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([40, 40, S - 40, S - 40], radius=190, fill=(16, 20, 28, 255))
    bone(d, (232, 220, 196, 255))
    # The "part" label: the upper knuckles tinted like Osteon's first structure colour.
    part = Image.new('RGBA', (S, S), (0, 0, 0, 0))
    bone(ImageDraw.Draw(part), (79, 195, 247, 255), inset=18)
    mask = Image.new('L', (S, S), 0)
    ImageDraw.Draw(mask).polygon([(0, 0), (S * 0.62, 0), (0, S * 0.62)], fill=255)
    img.paste(part, (0, 0), Image.composite(part.getchannel('A'), Image.new('L', (S, S), 0), mask))
    img.save(HERE / 'icon.png')
    img.resize((512, 512), Image.LANCZOS).save(HERE / '512x512.png')
    img.save(HERE / 'icon.ico', sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    img.save(HERE / 'icon.icns')


if __name__ == '__main__':
    main()
