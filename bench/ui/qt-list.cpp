// qt-list.cpp: the UI benchmark's screen (rows.h) drawn by Qt 5 Widgets (Debian's qtbase5-dev), Fusion style,
// offscreen platform, at 720x1600, timed as slate-list.c times the toolkit: a full frame and a one-row scroll frame.
//
// A QListWidget of 200 items (per-pixel scrolling, uniform item sizes, no frame, no scroll bars shown) whose
// delegate paints each row as the toolkit does: a 48 px circle, a 24 px Material icon centred in it (the icon
// font's ligature, as drawText shapes it), a 17 px title and a 14 px second line in Noto Sans, in the Slate
// theme's colours, over the viewport's background.
//
// What is timed is what Qt does to put a frame on a screen, into the window's backing store (on the
// offscreen platform a QImage, which is what a flush would show):
// - full frame: viewport()->repaint(): the whole viewport painted again, synchronously (its background, then
//   every visible item through the delegate), then flushed;
// - scroll frame: the vertical scroll bar's value moved by one row (72 px), which is what a wheel, a drag or a
//   kinetic scroller does: QListView::scrollContentsBy scrolls the viewport, Qt moves the pixels already in
//   the backing store (QWidget::scroll's blit) and marks the strip that came into view dirty; then the posted
//   update request is delivered (sendPostedEvents), which paints that strip (the one or two items in it) and
//   flushes. The program counts the delegate's paints per frame to show it.
// The last frame is taken back from the backing store (QScreen::grabWindow on the offscreen platform reads
// it), written to OUT.png, and compared with a full repaint of the same position.
//
// The pointer: on the offscreen platform it rests at (0, 0), over the list. After each scroll step an item view
// looks for the item under the pointer (QAbstractItemView::verticalScrollbarValueChanged, checkMouseMove); a
// different item under it is a hover change, and both items' rows are updated: one or two more rows, far from
// the strip, whose bounding box then makes QListView paint every row on screen. A phone has no pointer (a
// finger that drags is one, though: Qt makes mouse events of touches), so the pointer is moved off the window
// first, and the scroll frame is the blit and the strip alone; --pointer-over-list puts it in the list's middle.
//
// usage: qt-list FRAMES WARMUP OUT.png [--icons-as-pixmaps] [--pointer-over-list]
//        qt-list --idle          the screen shown, then the event loop until killed (memory is read from outside)
//        qt-list --compare A.png B.png   how many pixels differ between two screens (any difference; by more than 64
//                                        in a channel: more than anti-aliasing)
// --icons-as-pixmaps: each of the 16 icons drawn once into a 48x48 QPixmap and blitted (QIcon's way) instead
// of painting the circle and the glyph in each row.
//
// Prints "result NAME N MEAN MEDIAN P90 MIN" (ms) and "info KEY VALUE" lines for bench/ui.sh.
#include <QApplication>
#include <QCursor>
#include <QElapsedTimer>
#include <QFontDatabase>
#include <QImage>
#include <QListWidget>
#include <QPainter>
#include <QPixmap>
#include <QScreen>
#include <QScrollBar>
#include <QStyleFactory>
#include <QStyledItemDelegate>
#include <QWindow>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#define BENCH_ROWS_TEXT_ONLY
#include "rows.h"

static const int MAX_OFFSET = BENCH_ROWS * BENCH_ROW_H - BENCH_H;
static const char *const NOTO = "/usr/share/fonts/truetype/noto/";
static const char *const ICON_FONT =
    "/usr/share/fonts/truetype/material-design-icons-iconfont/MaterialIcons-Regular.ttf";
enum { ROLE_DETAIL = Qt::UserRole, ROLE_ICON };

static double now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void report(const char *name, std::vector<double> v) {
    double sum = 0;
    for (double x : v)
        sum += x;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    printf("result %s %zu %.4f %.4f %.4f %.4f\n", name, n, sum / n, median, v[(n * 9 + 9) / 10 - 1], v[0]);
}

static QColor rgb(unsigned c) {
    return QColor((c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff);
}

class RowDelegate : public QStyledItemDelegate {
  public:
    QFont title, detail, icon;
    QHash<QString, QPixmap> pixmaps; // filled only with --icons-as-pixmaps
    long paints = 0;

    explicit RowDelegate(QObject *parent) : QStyledItemDelegate(parent) {
        title = font("Noto Sans", BENCH_TITLE_PX, QFont::Medium); // no Medium face installed: Qt uses Regular
        detail = font("Noto Sans", BENCH_DETAIL_PX, QFont::Normal);
        icon = font("Material Icons", BENCH_GLYPH, QFont::Normal);
    }
    static QFont font(const char *family, int px, int weight) {
        QFont f(family);
        f.setPixelSize(px);
        f.setWeight(weight);
        f.setHintingPreference(QFont::PreferVerticalHinting); // FreeType's light hinting, as the toolkit's
        return f;
    }
    QSize sizeHint(const QStyleOptionViewItem &, const QModelIndex &) const override {
        return QSize(BENCH_W, BENCH_ROW_H);
    }
    void paintIcon(QPainter *p, const QRect &box, const QString &name) const {
        p->setRenderHint(QPainter::Antialiasing, true);
        p->setPen(Qt::NoPen);
        p->setBrush(rgb(BENCH_PRIMARY_CONTAINER));
        p->drawEllipse(box);
        p->setPen(rgb(BENCH_PRIMARY));
        p->setFont(icon);
        p->drawText(box, Qt::AlignCenter, name);
    }
    void makePixmaps() {
        for (const char *name : bench_icons) {
            QPixmap pm(BENCH_ICON, BENCH_ICON);
            pm.fill(rgb(BENCH_SURFACE)); // opaque, as the row's background: a plain blit
            QPainter p(&pm);
            paintIcon(&p, QRect(0, 0, BENCH_ICON, BENCH_ICON), name);
            pixmaps.insert(name, pm);
        }
    }
    void paint(QPainter *p, const QStyleOptionViewItem &option, const QModelIndex &index) const override {
        const_cast<RowDelegate *>(this)->paints++;
        QStyleOptionViewItem o(option);
        initStyleOption(&o, index);
        const QWidget *w = o.widget;
        w->style()->drawPrimitive(QStyle::PE_PanelItemViewItem, &o, p, w); // selection, hover: nothing here
        const QRect r = o.rect;
        QRect box(r.x() + BENCH_PAD_H, r.y() + BENCH_PAD_V, BENCH_ICON, BENCH_ICON);
        QString name = index.data(ROLE_ICON).toString();
        if (pixmaps.isEmpty())
            paintIcon(p, box, name);
        else
            p->drawPixmap(box.topLeft(), pixmaps.value(name));
        // The two lines centred in the row: 24 + 20 px of line boxes, 2 px above, as the toolkit's column.
        int width = r.width() - BENCH_TEXT_X - BENCH_PAD_H,
            top = r.y() + (BENCH_ROW_H - BENCH_TITLE_LINE - BENCH_DETAIL_LINE) / 2;
        p->setPen(rgb(BENCH_ON_SURFACE));
        p->setFont(title);
        p->drawText(QRect(r.x() + BENCH_TEXT_X, top, width, BENCH_TITLE_LINE), Qt::AlignLeft | Qt::AlignVCenter,
                    o.text);
        p->setPen(rgb(BENCH_ON_SURFACE_VARIANT));
        p->setFont(detail);
        p->drawText(QRect(r.x() + BENCH_TEXT_X, top + BENCH_TITLE_LINE, width, BENCH_DETAIL_LINE),
                    Qt::AlignLeft | Qt::AlignVCenter, index.data(ROLE_DETAIL).toString());
    }
};

static QImage flushed(QWidget *top) {
    return QGuiApplication::primaryScreen()->grabWindow(top->winId()).toImage().convertToFormat(QImage::Format_RGB32);
}

static long differing(const QImage &a, const QImage &b) {
    if (a.size() != b.size())
        return -1;
    long n = 0;
    for (int y = 0; y < a.height(); y++) {
        const QRgb *p = reinterpret_cast<const QRgb *>(a.constScanLine(y)),
                   *q = reinterpret_cast<const QRgb *>(b.constScanLine(y));
        for (int x = 0; x < a.width(); x++)
            n += (p[x] & 0xffffff) != (q[x] & 0xffffff);
    }
    return n;
}

static int compare(const char *a_path, const char *b_path) {
    QImage a(a_path), b(b_path);
    if (a.isNull() || b.isNull() || a.size() != b.size()) {
        fprintf(stderr, "qt-list: cannot compare %s with %s\n", a_path, b_path);
        return 111;
    }
    a = a.convertToFormat(QImage::Format_RGB32);
    b = b.convertToFormat(QImage::Format_RGB32);
    long any = 0, far = 0;
    for (int y = 0; y < a.height(); y++) {
        const QRgb *p = reinterpret_cast<const QRgb *>(a.constScanLine(y)),
                   *q = reinterpret_cast<const QRgb *>(b.constScanLine(y));
        for (int x = 0; x < a.width(); x++) {
            int d = std::max(
                {abs(qRed(p[x]) - qRed(q[x])), abs(qGreen(p[x]) - qGreen(q[x])), abs(qBlue(p[x]) - qBlue(q[x]))});
            any += d > 0;
            far += d > 64;
        }
    }
    printf("info pixels %d differing %ld far %ld\n", a.width() * a.height(), any, far);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--compare"))
        return compare(argv[2], argv[3]);
    bool idle = argc == 2 && !strcmp(argv[1], "--idle"), pixmaps = false, pointer = false, usage = !idle && argc < 4;
    for (int i = 4; !idle && i < argc; i++) {
        if (!strcmp(argv[i], "--icons-as-pixmaps"))
            pixmaps = true;
        else if (!strcmp(argv[i], "--pointer-over-list"))
            pointer = true;
        else
            usage = true;
    }
    if (usage) {
        fprintf(stderr,
                "usage: qt-list FRAMES WARMUP OUT.png [--icons-as-pixmaps] [--pointer-over-list] | qt-list --idle\n");
        return 100;
    }
    int frames = idle ? 1 : atoi(argv[1]), warmup = idle ? 0 : atoi(argv[2]);
    if (frames < 1 || warmup < 0)
        return 100;
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    double t0 = now_ms();
    QApplication app(argc, argv);
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    for (const char *face : {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"})
        if (QFontDatabase::addApplicationFont(QString(NOTO) + face) < 0)
            fprintf(stderr, "qt-list: cannot load %s%s\n", NOTO, face);
    if (QFontDatabase::addApplicationFont(ICON_FONT) < 0)
        fprintf(stderr, "qt-list: cannot load %s\n", ICON_FONT);

    QListWidget list;
    auto *delegate = new RowDelegate(&list);
    if (pixmaps)
        delegate->makePixmaps();
    list.setItemDelegate(delegate);
    list.setUniformItemSizes(true);
    list.setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    list.setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff); // the toolkit shows none either
    list.setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    list.setFrameShape(QFrame::NoFrame);
    QPalette pal = list.palette();
    pal.setColor(QPalette::Base, rgb(BENCH_SURFACE));
    list.setPalette(pal);
    for (size_t i = 0; i < BENCH_ROWS; i++) {
        char title[64], detail[96];
        const char *icon = bench_row_text(i, title, sizeof title, detail, sizeof detail);
        auto *item = new QListWidgetItem(QString::fromUtf8(title));
        item->setData(ROLE_DETAIL, QString::fromUtf8(detail));
        item->setData(ROLE_ICON, QString::fromUtf8(icon));
        list.addItem(item);
    }
    list.setGeometry(0, 0, BENCH_W, BENCH_H);
    list.show();
    QCursor::setPos(pointer ? QPoint(BENCH_W / 2, 300) : QPoint(BENCH_W + 40, 300)); // see the top
    QCoreApplication::processEvents(); // laid out, exposed, first frame painted and flushed
    printf("info first_frame_ms %.2f\n", now_ms() - t0);
    printf("info window %dx%d\n", list.viewport()->width(), list.viewport()->height());
    if (idle) {
        printf("info idle\n");
        fflush(stdout);
        return app.exec();
    }

    std::vector<double> v(frames);
    long paints = delegate->paints;
    for (int i = 0; i < warmup + frames; i++) {
        if (i == warmup)
            paints = delegate->paints;
        double t = now_ms();
        list.viewport()->repaint();
        if (i >= warmup)
            v[i - warmup] = now_ms() - t;
    }
    report("full", v);
    printf("info rows_painted_per_full_frame %.2f\n", double(delegate->paints - paints) / frames);

    // The same drag as slate-list.c's: one row a frame down the list to its end, then back.
    QScrollBar *sb = list.verticalScrollBar();
    if (sb->maximum() != MAX_OFFSET)
        fprintf(stderr, "qt-list: the list scrolls %d px, not %d\n", sb->maximum(), MAX_OFFSET);
    int offset = 0, dir = 1;
    for (int i = 0; i < warmup + frames; i++) {
        if (offset + dir * BENCH_ROW_H > MAX_OFFSET || offset + dir * BENCH_ROW_H < 0)
            dir = -dir;
        offset += dir * BENCH_ROW_H;
        if (i == warmup)
            paints = delegate->paints;
        double t = now_ms();
        sb->setValue(offset);
        QCoreApplication::sendPostedEvents(); // the update request: the exposed strip painted, then flushed
        if (i >= warmup)
            v[i - warmup] = now_ms() - t;
    }
    report("scroll", v);
    printf("info rows_painted_per_scroll_frame %.2f\n", double(delegate->paints - paints) / frames);
    printf("info final_offset %d\n", sb->value());

    QImage scrolled = flushed(&list);
    if (!scrolled.save(argv[3])) {
        fprintf(stderr, "qt-list: cannot write %s\n", argv[3]);
        return 111;
    }
    list.viewport()->repaint();
    printf("info scroll_vs_full_redraw_pixels_differing %ld\n", differing(scrolled, flushed(&list)));
    printf("info frame %dx%d\n", scrolled.width(), scrolled.height());
    return 0;
}
